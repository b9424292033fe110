package dev.internvl.mesh.model.llm;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.LlmConfig;
import dev.internvl.mesh.checkpoint.WeightSchema;
import dev.internvl.mesh.compute.Activations;
import dev.internvl.mesh.compute.Attention;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.FloatColumns;
import dev.internvl.mesh.compute.MatMul;
import dev.internvl.mesh.compute.Norms;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.compute.RowLocator;
import dev.internvl.mesh.compute.Rope;
import dev.internvl.mesh.compute.WeightMatrix;
import dev.internvl.mesh.model.WeightReader;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Qwen2 decoder of InternVL 2.5, over a paged KV cache. One {@link #forward} step takes any mix of sequences,
 * each appending one or more positions: a prefill chunk, or one token of a decode batch. Every weight matrix is read
 * once per step for all rows of all sequences together; attention runs per sequence over its own cached blocks, so
 * no step ever recomputes a prefix.
 */
public final class Qwen2Model {
    private final ComputePool pool;
    private final Precision precision;
    private final LlmConfig config;
    private final WeightMatrix embedTokens;
    private final WeightMatrix lmHead;
    private final float[] finalNorm;
    private final List<DecoderLayer> layers;
    private final Rope rope;
    private final float eps;
    private final float attentionScale;

    private record DecoderLayer(float[] inputNorm, WeightMatrix q, float[] qBias, WeightMatrix k, float[] kBias,
                                WeightMatrix v, float[] vBias, WeightMatrix o, float[] postAttentionNorm,
                                WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
        static DecoderLayer read(WeightReader w, int i) {
            return new DecoderLayer(
                    w.vector(WeightSchema.llmLayer(i, "input_layernorm.weight")),
                    w.matrix(WeightSchema.llmLayer(i, "self_attn.q_proj.weight")),
                    w.vector(WeightSchema.llmLayer(i, "self_attn.q_proj.bias")),
                    w.matrix(WeightSchema.llmLayer(i, "self_attn.k_proj.weight")),
                    w.vector(WeightSchema.llmLayer(i, "self_attn.k_proj.bias")),
                    w.matrix(WeightSchema.llmLayer(i, "self_attn.v_proj.weight")),
                    w.vector(WeightSchema.llmLayer(i, "self_attn.v_proj.bias")),
                    w.matrix(WeightSchema.llmLayer(i, "self_attn.o_proj.weight")),
                    w.vector(WeightSchema.llmLayer(i, "post_attention_layernorm.weight")),
                    w.matrix(WeightSchema.llmLayer(i, "mlp.gate_proj.weight")),
                    w.matrix(WeightSchema.llmLayer(i, "mlp.up_proj.weight")),
                    w.matrix(WeightSchema.llmLayer(i, "mlp.down_proj.weight")));
        }
    }

    private Qwen2Model(ComputePool pool, Precision precision, Checkpoint checkpoint) {
        this.pool = pool;
        this.precision = precision;
        this.config = checkpoint.config().llm();
        WeightReader w = new WeightReader(checkpoint.weights());
        this.embedTokens = w.matrix(WeightSchema.EMBED_TOKENS);
        this.lmHead = WeightMatrix.of(checkpoint.lmHead());
        this.finalNorm = w.vector(WeightSchema.LLM + "model.norm.weight");
        List<DecoderLayer> list = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            list.add(DecoderLayer.read(w, i));
        }
        this.layers = List.copyOf(list);
        this.rope = new Rope(config.headDim(), config.ropeTheta());
        this.eps = (float) config.rmsNormEps();
        this.attentionScale = (float) Math.pow(config.headDim(), -0.5);
    }

    /** The model on the shared pool and the {@link Precision#configured() configured} numeric path. */
    public static Qwen2Model load(Checkpoint checkpoint) {
        return load(checkpoint, ComputePool.shared(), Precision.configured());
    }

    public static Qwen2Model load(Checkpoint checkpoint, ComputePool pool) {
        return load(checkpoint, pool, Precision.configured());
    }

    public static Qwen2Model load(Checkpoint checkpoint, ComputePool pool, Precision precision) {
        return new Qwen2Model(pool, precision, checkpoint);
    }

    public Precision precision() {
        return precision;
    }

    public LlmConfig config() {
        return config;
    }

    /** A KV cache sized for this model. */
    public KvBlockPool newKvCache(int blockSize, int blockCount) {
        return KvBlockPool.create(config, blockSize, blockCount);
    }

    /**
     * Input embeddings {@code [to - from, hidden]} for {@code tokens[from, to)}: rows of embed_tokens, except that
     * image-context tokens take the next rows of {@code splice} (counting occurrences from {@code tokens[0]}).
     * {@code splice} may be null for text.
     */
    public float[] embed(int[] tokens, int from, int to, ImageSplice splice) {
        int h = config.hiddenSize();
        float[] out = new float[(to - from) * h];
        int imageRow = splice == null ? 0 : splice.countIn(tokens, 0, from);
        if (splice != null && splice.rows() > 0 && splice.embeddings().length != splice.rows() * h) {
            throw new IllegalArgumentException("image rows are " + splice.embeddings().length / splice.rows()
                    + " wide, the model's hidden size is " + h);
        }
        for (int i = from; i < to; i++) {
            int token = tokens[i];
            if (splice != null && token == splice.contextTokenId()) {
                if (imageRow >= splice.rows()) {
                    throw new IllegalArgumentException("more image-context tokens than the " + splice.rows() + " image rows");
                }
                System.arraycopy(splice.embeddings(), imageRow++ * h, out, (i - from) * h, h);
            } else {
                if (token < 0 || token >= config.vocabSize()) {
                    throw new IllegalArgumentException("token id " + token + " outside the vocabulary of " + config.vocabSize());
                }
                embedTokens.readRow(token, out, (i - from) * h);
            }
        }
        return out;
    }

    /**
     * Appends {@code tokens} to {@code sequence} in chunks of at most {@code chunkSize} positions and returns the
     * logits {@code [vocab]} of the last one. With a splice, the image-context tokens must match its rows exactly.
     */
    public float[] prefill(KvSequence sequence, int[] tokens, ImageSplice splice, int chunkSize) throws KvCacheFullException {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        if (chunkSize < 1) {
            throw new IllegalArgumentException("chunk size must be positive, got " + chunkSize);
        }
        if (splice != null && splice.countIn(tokens, 0, tokens.length) != splice.rows()) {
            throw new IllegalArgumentException("the prompt has " + splice.countIn(tokens, 0, tokens.length)
                    + " image-context tokens for " + splice.rows() + " image rows");
        }
        float[] logits = null;
        for (int from = 0; from < tokens.length; from += chunkSize) {
            int to = Math.min(tokens.length, from + chunkSize);
            LogitRows wanted = to == tokens.length ? LogitRows.LAST : LogitRows.NONE;
            var input = new StepInput(sequence, embed(tokens, from, to, splice), to - from, wanted);
            logits = forward(List.of(input), ForwardObserver.NONE).get(0);
        }
        return logits;
    }

    /**
     * One decode step for several sequences at once: {@code tokens[i]} is appended to {@code sequences.get(i)}.
     * Returns each sequence's next-token logits {@code [vocab]}.
     */
    public List<float[]> decode(List<KvSequence> sequences, int[] tokens) throws KvCacheFullException {
        List<StepInput> inputs = new ArrayList<>(sequences.size());
        for (int i = 0; i < sequences.size(); i++) {
            inputs.add(new StepInput(sequences.get(i), embed(tokens, i, i + 1, null), 1, LogitRows.LAST));
        }
        return forward(inputs, ForwardObserver.NONE);
    }

    /**
     * Runs one step: appends each input's positions to its sequence's cache and returns, per input, the logits it
     * asked for ({@code [rows, vocab]} row-major; null for {@link LogitRows#NONE}). Blocks for all inputs are
     * reserved first, all or nothing; a full cache throws before anything changes.
     */
    public List<float[]> forward(List<StepInput> inputs, ForwardObserver observer) throws KvCacheFullException {
        if (inputs.isEmpty()) {
            return List.of();
        }
        int h = config.hiddenSize();
        KvBlockPool cache = inputs.getFirst().sequence().pool();
        List<KvSequence> sequences = new ArrayList<>(inputs.size());
        int[] counts = new int[inputs.size()];
        int[] firstRow = new int[inputs.size() + 1];
        for (int i = 0; i < inputs.size(); i++) {
            StepInput in = inputs.get(i);
            if (in.embeddings().length != in.tokens() * h) {
                throw new IllegalArgumentException("input " + i + ": " + in.embeddings().length + " values for "
                        + in.tokens() + " tokens of width " + h);
            }
            if (in.sequence().pool() != cache) {
                throw new IllegalArgumentException("all sequences of a step must share one KV pool");
            }
            if (sequences.contains(in.sequence())) {
                throw new IllegalArgumentException("a sequence appears twice in one step");
            }
            sequences.add(in.sequence());
            counts[i] = in.tokens();
            firstRow[i + 1] = firstRow[i] + in.tokens();
        }
        cache.reserve(sequences, counts);

        int rows = firstRow[inputs.size()];
        float[] x = new float[rows * h];
        int[] positions = new int[rows];
        int[] startPositions = new int[inputs.size()];
        for (int i = 0; i < inputs.size(); i++) {
            System.arraycopy(inputs.get(i).embeddings(), 0, x, firstRow[i] * h, counts[i] * h);
            startPositions[i] = sequences.get(i).length();
            for (int t = 0; t < counts[i]; t++) {
                positions[firstRow[i] + t] = startPositions[i] + t;
            }
        }
        observer.residual(0, x, rows, h);
        Step step = new Step(sequences, firstRow, startPositions, rope.angles(positions), rows);
        LayerBuffers buffers = new LayerBuffers(rows);
        for (int l = 0; l < layers.size(); l++) {
            decoderLayer(l, layers.get(l), x, step, cache, buffers);
            observer.residual(l + 1, x, rows, h);
        }
        for (int i = 0; i < sequences.size(); i++) {
            sequences.get(i).advance(counts[i]);
        }
        return logits(inputs, firstRow, x, observer);
    }

    /** Per-step facts the layers share: where each sequence's rows are, its positions and their RoPE angles. */
    private record Step(List<KvSequence> sequences, int[] firstRow, int[] startPositions, Rope.Angles angles, int rows) {
    }

    /** Working arrays of one step, shared by all layers. */
    private final class LayerBuffers {
        final float[] normed;
        final float[] q;
        final float[] k;
        final float[] v;
        final float[] attention;
        final float[] gate;
        final float[] up;

        LayerBuffers(int rows) {
            int qDim = config.numHeads() * config.headDim();
            normed = new float[rows * config.hiddenSize()];
            q = new float[rows * qDim];
            k = new float[rows * config.kvDim()];
            v = new float[rows * config.kvDim()];
            attention = new float[rows * qDim];
            gate = new float[rows * config.intermediateSize()];
            up = new float[rows * config.intermediateSize()];
        }
    }

    private void decoderLayer(int index, DecoderLayer layer, float[] x, Step step, KvBlockPool cache, LayerBuffers b) {
        int h = config.hiddenSize();
        int qDim = config.numHeads() * config.headDim();
        int kvDim = config.kvDim();
        int rows = step.rows();
        float[] normed = b.normed;
        float[] q = b.q;
        float[] k = b.k;
        float[] v = b.v;

        Norms.rmsNorm(pool, x, rows, h, layer.inputNorm(), eps, normed);
        MatMul.linear(pool, precision, normed, rows, List.of(layer.q(), layer.k(), layer.v()),
                Arrays.asList(layer.qBias(), layer.kBias(), layer.vBias()), List.of(q, k, v));
        int blockSize = cache.blockSize();
        float[] keys = cache.keys(index);
        float[] values = cache.values(index);
        for (int i = 0; i < step.sequences().size(); i++) {
            KvSequence s = step.sequences().get(i);
            for (int m = step.firstRow()[i]; m < step.firstRow()[i + 1]; m++) {
                rope.apply(q, m * qDim, config.numHeads(), step.angles(), m);
                rope.apply(k, m * kvDim, config.numKvHeads(), step.angles(), m);
                int position = step.startPositions()[i] + m - step.firstRow()[i];
                int keyAt = s.keyOffset(position);
                for (int f = 0; f < kvDim; f++) {
                    keys[keyAt + f * blockSize] = k[m * kvDim + f];
                }
                System.arraycopy(v, m * kvDim, values, s.valueOffset(position), kvDim);
            }
        }
        float[] attention = b.attention;
        attend(q, step, keys, values, attention);
        MatMul.matmul(pool, precision, attention, 0, qDim, rows, layer.o(), null, x, 0, h, true);

        Norms.rmsNorm(pool, x, rows, h, layer.postAttentionNorm(), eps, normed);
        int inter = config.intermediateSize();
        float[] gate = b.gate;
        float[] up = b.up;
        MatMul.linear(pool, precision, normed, rows, List.of(layer.gate(), layer.up()), Arrays.asList(null, null),
                List.of(gate, up));
        Activations.siluMul(pool, gate, up, rows * inter);
        MatMul.matmul(pool, precision, gate, 0, inter, rows, layer.down(), null, x, 0, h, true);
    }

    /**
     * Causal GQA attention of every sequence's new rows over its cached keys and values. The query heads sharing
     * a KV head are stacked (row = position * group + head) so they go through the products together; tasks are
     * (sequence, KV head, tile of stacked rows).
     */
    private void attend(float[] q, Step step, float[] keys, float[] values, float[] out) {
        int d = config.headDim();
        int qDim = config.numHeads() * d;
        int group = config.numHeads() / config.numKvHeads();
        int kvHeads = config.numKvHeads();
        int tile = Attention.QUERY_TILE;
        List<int[]> tasks = new ArrayList<>();
        for (int i = 0; i < step.sequences().size(); i++) {
            int stacked = (step.firstRow()[i + 1] - step.firstRow()[i]) * group;
            for (int g = 0; g < kvHeads; g++) {
                for (int r0 = 0; r0 < stacked; r0 += tile) {
                    tasks.add(new int[]{i, g, r0});
                }
            }
        }
        pool.parallelFor(tasks.size(), t -> {
            int i = tasks.get(t)[0];
            int g = tasks.get(t)[1];
            int r0 = tasks.get(t)[2];
            KvSequence s = step.sequences().get(i);
            int first = step.firstRow()[i];
            int count = step.firstRow()[i + 1] - first;
            int start = step.startPositions()[i];
            int rows = Math.min(tile, count * group - r0);
            float[] stackedQ = new float[rows * d];
            for (int r = 0; r < rows; r++) {
                int pos = (r0 + r) / group;
                int head = g * group + (r0 + r) % group;
                System.arraycopy(q, (first + pos) * qDim + head * d, stackedQ, r * d, d);
            }
            int keyCount = start + count;
            RowLocator valueRows = position -> s.valueOffset(position) + g * d;
            float[] stackedOut = new float[rows * d];
            Attention.attend(pool, stackedQ, 0, d, rows, new PagedKeys(keys, s, g * d, keyCount, d),
                    new FloatColumns(values, valueRows, d, keyCount), keyCount, r -> start + (r0 + r) / group + 1,
                    attentionScale, stackedOut, 0, d);
            for (int r = 0; r < rows; r++) {
                int pos = (r0 + r) / group;
                int head = g * group + (r0 + r) % group;
                System.arraycopy(stackedOut, r * d, out, (first + pos) * qDim + head * d, d);
            }
        });
    }

    /** Final norm and lm_head for the rows the inputs asked logits for. */
    private List<float[]> logits(List<StepInput> inputs, int[] firstRow, float[] x, ForwardObserver observer) {
        int h = config.hiddenSize();
        int vocab = config.vocabSize();
        int rows = firstRow[inputs.size()];
        float[] source = x;
        if (observer.wantsFinalHidden()) {
            source = new float[rows * h];
            Norms.rmsNorm(pool, x, rows, h, finalNorm, eps, source);
            observer.finalHidden(source, rows, h);
        }
        List<Integer> selected = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            switch (inputs.get(i).logits()) {
                case NONE -> {
                }
                case LAST -> selected.add(firstRow[i + 1] - 1);
                case ALL -> {
                    for (int r = firstRow[i]; r < firstRow[i + 1]; r++) {
                        selected.add(r);
                    }
                }
            }
        }
        float[] picked = new float[selected.size() * h];
        for (int j = 0; j < selected.size(); j++) {
            System.arraycopy(source, selected.get(j) * h, picked, j * h, h);
        }
        if (source == x) {
            Norms.rmsNorm(pool, picked, selected.size(), h, finalNorm, eps, picked);
        }
        float[] all = new float[selected.size() * vocab];
        MatMul.linear(pool, precision, picked, selected.size(), lmHead, null, all);
        if (inputs.size() == 1) {
            return java.util.Collections.singletonList(selected.isEmpty() ? null : all);
        }
        List<float[]> out = new ArrayList<>(inputs.size());
        int at = 0;
        for (StepInput in : inputs) {
            int n = switch (in.logits()) {
                case NONE -> 0;
                case LAST -> 1;
                case ALL -> in.tokens();
            };
            if (n == 0) {
                out.add(null);
            } else {
                float[] mine = new float[n * vocab];
                System.arraycopy(all, at * vocab, mine, 0, n * vocab);
                out.add(mine);
                at += n;
            }
        }
        return out;
    }
}
