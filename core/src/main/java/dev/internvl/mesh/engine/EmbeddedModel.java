package dev.internvl.mesh.engine;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.ModelConfig;
import dev.internvl.mesh.image.ImageKeys;
import dev.internvl.mesh.image.ImageLimits;
import dev.internvl.mesh.image.ImagePreprocessor;
import dev.internvl.mesh.image.PreprocessedImage;
import dev.internvl.mesh.model.llm.ImageSplice;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.model.vision.VisionEncoder;
import dev.internvl.mesh.prompt.ChatRequest;
import dev.internvl.mesh.prompt.Prompt;
import dev.internvl.mesh.prompt.PromptBuilder;
import dev.internvl.mesh.prompt.Turn;
import dev.internvl.mesh.sampling.SamplingParams;
import dev.internvl.mesh.tokenizer.ModelTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The whole model in one process, as {@code model.chat} runs it: tokenizer and template, image tiling, the vision
 * tower and the language model behind a {@link GenerationEngine}. The embedded CLI runs on it, and it is the
 * reference the serving tiers' output is compared with.
 */
public final class EmbeddedModel implements AutoCloseable {
    private final Checkpoint checkpoint;
    private final ModelTokenizer tokenizer;
    private final PromptBuilder prompts;
    private final ImagePreprocessor preprocessor;
    private final VisionEncoder vision;
    private final GenerationEngine engine;

    private EmbeddedModel(Checkpoint checkpoint, ModelTokenizer tokenizer, GenerationEngine engine) {
        this.checkpoint = checkpoint;
        this.tokenizer = tokenizer;
        ModelConfig config = checkpoint.config();
        this.prompts = new PromptBuilder(tokenizer, config.numImageTokens());
        this.preprocessor = new ImagePreprocessor(config.vision().imageSize(), ImageLimits.defaults());
        this.vision = VisionEncoder.load(checkpoint);
        this.engine = engine;
    }

    /**
     * Opens a hub model directory (weights memory-mapped, tokenizer from its files).
     *
     * @param kvCacheBytes memory for the paged KV cache
     */
    public static EmbeddedModel open(Path dir, long kvCacheBytes, EngineSettings settings) {
        return open(dir, dir, kvCacheBytes, settings);
    }

    /** As {@link #open(Path, long, EngineSettings)}, with the tokenizer files in a directory of their own. */
    public static EmbeddedModel open(Path dir, Path tokenizerDir, long kvCacheBytes, EngineSettings settings) {
        Checkpoint checkpoint = Checkpoint.open(dir);
        try {
            ModelTokenizer tokenizer = ModelTokenizer.load(tokenizerDir);
            Qwen2Model llm = Qwen2Model.load(checkpoint);
            KvBlockPool cache = KvBlockPool.withBudget(checkpoint.config().llm(), 16, kvCacheBytes);
            int[] stops = tokenizer.specialTokens().stopTokenIds().stream().mapToInt(Integer::intValue).toArray();
            GenerationEngine engine = new GenerationEngine(llm, cache, settings, () -> tokenizer.streamDecoder(true), stops);
            return new EmbeddedModel(checkpoint, tokenizer, engine);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return checkpoint.config();
    }

    public ModelTokenizer tokenizer() {
        return tokenizer;
    }

    public GenerationEngine engine() {
        return engine;
    }

    /**
     * An image's visual embeddings: {@code tiles * numImageTokens} rows of the language model's width, and a key
     * naming its content and tiling.
     */
    public record EncodedImage(String key, int tiles, float[] rows) {
    }

    public EncodedImage encode(byte[] image, int minTiles, int maxTiles) {
        boolean thumbnail = config().useThumbnail();
        PreprocessedImage p = preprocessor.preprocess(image, minTiles, maxTiles, thumbnail);
        String key = ImageKeys.of(image, minTiles, maxTiles, thumbnail);
        return new EncodedImage(key, p.numTiles(), vision.encode(p.pixelValues(), p.numTiles()));
    }

    /**
     * One turn of {@code model.chat}: images (already encoded) in order of their {@code <image>} placeholders, the
     * history and the question; a null system message means the template's default.
     */
    public GenerationEngine.Handle chat(String systemMessage, List<Turn> history, String question,
                                        List<EncodedImage> images, SamplingParams sampling, GenerationListener listener) {
        Prompt prompt = prompts.build(new ChatRequest(question, history, images.stream().map(EncodedImage::tiles).toList(), systemMessage));
        ImageSplice splice = null;
        List<GenerationRequest.ImageRef> refs = new ArrayList<>();
        if (!images.isEmpty()) {
            int width = config().llm().hiddenSize();
            List<float[]> parts = new ArrayList<>();
            int rows = 0;
            for (EncodedImage img : images) {
                parts.add(img.rows());
                rows += img.rows().length / width;
                refs.add(new GenerationRequest.ImageRef(img.key(), img.rows().length / width));
            }
            float[] all = new float[rows * width];
            int at = 0;
            for (float[] part : parts) {
                System.arraycopy(part, 0, all, at, part.length);
                at += part.length;
            }
            splice = new ImageSplice(tokenizer.specialTokens().imgContext(), all, rows);
        }
        return engine.submit(new GenerationRequest("chat", prompt.ids(), splice, refs, sampling), listener);
    }

    /** The question as upstream keeps it in the history after a turn ({@code <image>\n} prepended where it was). */
    public String questionForHistory(String question, List<Turn> history, int images) {
        List<Integer> tiles = new ArrayList<>();
        for (int i = 0; i < images; i++) {
            tiles.add(1);
        }
        return prompts.build(new ChatRequest(question, history, tiles, null)).questionInHistory();
    }

    @Override
    public void close() {
        engine.close();
        tokenizer.close();
        checkpoint.close();
    }
}
