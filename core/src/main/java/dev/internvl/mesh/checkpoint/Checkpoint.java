package dev.internvl.mesh.checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A hub InternVL 2.5 model directory, opened and checked: its config, and its weights memory-mapped and matched
 * against {@link WeightSchema} (every tensor present, none unexpected, shapes right, a dtype we compute with).
 */
public final class Checkpoint implements AutoCloseable {
    private static final Set<DType> WEIGHT_DTYPES = Set.of(DType.BF16, DType.F16, DType.F32);

    private final Path dir;
    private final ModelConfig config;
    private final WeightStore weights;

    private Checkpoint(Path dir, ModelConfig config, WeightStore weights) {
        this.dir = dir;
        this.config = config;
        this.weights = weights;
    }

    public static Checkpoint open(Path dir) {
        return open(dir, WeightSchema.ALL);
    }

    /**
     * Only the tensors of {@code part} (say, the decoder layers one shard runs): only they are mapped and checked.
     * Tensors outside the part are not looked at beyond the headers.
     */
    public static Checkpoint open(Path dir, WeightSchema.Part part) {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException(dir + ": not a directory");
        }
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        Predicate<String> wanted = part.names(config);
        WeightStore weights = WeightStore.open(dir, wanted);
        try {
            validate(config, weights, wanted);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
        return new Checkpoint(dir, config, weights);
    }

    private static void validate(ModelConfig config, WeightStore weights, Predicate<String> wanted) {
        Map<String, long[]> expected = WeightSchema.expected(config);
        for (var e : expected.entrySet()) {
            String name = e.getKey();
            if (!wanted.test(name)) {
                continue;
            }
            if (!weights.contains(name)) {
                String hint = name.equals(WeightSchema.LM_HEAD)
                        ? " (llm_config.tie_word_embeddings is false, so the checkpoint must ship its own lm_head)" : "";
                throw new CheckpointException(dirOf(weights) + ": missing tensor '" + name + "'" + hint);
            }
            TensorView t = weights.tensor(name);
            if (!t.hasShape(e.getValue())) {
                throw new CheckpointException(weights.fileOf(name) + ": tensor '" + name + "' has shape " + t.shapeString()
                        + ", but config.json implies " + Arrays.toString(e.getValue()));
            }
            if (!WEIGHT_DTYPES.contains(t.dtype())) {
                throw new CheckpointException(weights.fileOf(name) + ": tensor '" + name + "' has unsupported dtype " + t.dtype()
                        + " (weights must be BF16, F16 or F32)");
            }
        }
        for (String name : weights.tensors().keySet()) {
            // A tied checkpoint may still carry a saved copy of lm_head; it is ignored, never an error.
            boolean ignoredLmHead = name.equals(WeightSchema.LM_HEAD) && config.llm().tieWordEmbeddings();
            if (!expected.containsKey(name) && !ignoredLmHead) {
                throw new CheckpointException(weights.fileOf(name) + ": unexpected tensor '" + name
                        + "' (not part of the model config.json describes)");
            }
        }
    }

    private static Object dirOf(WeightStore weights) {
        return weights.files().isEmpty() ? "checkpoint" : weights.files().getFirst().getParent();
    }

    public Path dir() {
        return dir;
    }

    public ModelConfig config() {
        return config;
    }

    public WeightStore weights() {
        return weights;
    }

    /** The lm_head matrix: its own tensor, or embed_tokens when the config ties them. */
    public TensorView lmHead() {
        return config.llm().tieWordEmbeddings() ? weights.tensor(WeightSchema.EMBED_TOKENS) : weights.tensor(WeightSchema.LM_HEAD);
    }

    @Override
    public void close() {
        weights.close();
    }
}
