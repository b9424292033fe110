package dev.internvl.mesh.model.llm;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.LlmConfig;
import dev.internvl.mesh.checkpoint.TensorView;
import dev.internvl.mesh.checkpoint.WeightSchema;
import dev.internvl.mesh.checkpoint.WeightStore;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.MatMul;
import dev.internvl.mesh.compute.Norms;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.compute.WeightMatrix;
import dev.internvl.mesh.model.WeightReader;

import java.util.ArrayList;
import java.util.List;

/**
 * The Qwen2 decoder of InternVL 2.5, over a paged KV cache: token embeddings, the decoder layers (a
 * {@link LayerStack}: in this process, or split over layer shards) and the final norm with lm_head. One
 * {@link #forward} step takes any mix of sequences, each appending one or more positions: a prefill chunk, or one
 * token of a decode batch. Every weight matrix is read once per step for all rows of all sequences together;
 * attention runs per sequence over its own cached blocks, so no step ever recomputes a prefix.
 */
public final class Qwen2Model {
    private final ComputePool pool;
    private final Precision precision;
    private final LlmConfig config;
    private final WeightMatrix embedTokens;
    private final WeightMatrix lmHead;
    private final float[] finalNorm;
    private final LayerStack layers;
    private final float eps;

    private Qwen2Model(ComputePool pool, Precision precision, LlmConfig config, WeightStore weights, TensorView lmHead,
                       LayerStack layers) {
        this.pool = pool;
        this.precision = precision;
        this.config = config;
        WeightReader w = new WeightReader(weights);
        this.embedTokens = w.matrix(WeightSchema.EMBED_TOKENS);
        this.lmHead = WeightMatrix.of(lmHead);
        this.finalNorm = w.vector(WeightSchema.LLM + "model.norm.weight");
        this.layers = layers;
        this.eps = (float) config.rmsNormEps();
    }

    /** The model on the shared pool and the {@link Precision#configured() configured} numeric path. */
    public static Qwen2Model load(Checkpoint checkpoint) {
        return load(checkpoint, ComputePool.shared(), Precision.configured());
    }

    public static Qwen2Model load(Checkpoint checkpoint, ComputePool pool) {
        return load(checkpoint, pool, Precision.configured());
    }

    /** The whole model in this process. */
    public static Qwen2Model load(Checkpoint checkpoint, ComputePool pool, Precision precision) {
        LlmConfig config = checkpoint.config().llm();
        DecoderLayers all = DecoderLayers.load(config, checkpoint.weights(), LayerRange.all(config.numLayers()), pool, precision);
        return new Qwen2Model(pool, precision, config, checkpoint.weights(), checkpoint.lmHead(), all);
    }

    /**
     * Embeddings, final norm and lm_head from {@code checkpoint}, the decoder layers from {@code layers} (the layer
     * shards, for a coordinator that opened only {@link WeightSchema#llmOutsideLayers} of the checkpoint).
     */
    public static Qwen2Model withLayers(Checkpoint checkpoint, ComputePool pool, Precision precision, LayerStack layers) {
        return new Qwen2Model(pool, precision, checkpoint.config().llm(), checkpoint.weights(), checkpoint.lmHead(), layers);
    }

    /** Whether a {@link ForwardObserver} sees the residual stream after every layer (the layers run here). */
    public boolean observesLayers() {
        return layers instanceof DecoderLayers;
    }

    public Precision precision() {
        return precision;
    }

    public LlmConfig config() {
        return config;
    }

    /** A KV cache of {@code blockCount} blocks for this model's layers, wherever they run. */
    public KvBlockPool newKvCache(int blockSize, int blockCount) {
        return layers.newKvCache(blockSize, blockCount);
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
        reserve(inputs);
        return forwardReserved(List.of(inputs), observer).getFirst();
    }

    /** Reserves the blocks of one pass's inputs, all or nothing. */
    public void reserve(List<StepInput> inputs) throws KvCacheFullException {
        List<KvSequence> sequences = new ArrayList<>(inputs.size());
        int[] counts = new int[inputs.size()];
        for (int i = 0; i < inputs.size(); i++) {
            sequences.add(inputs.get(i).sequence());
            counts[i] = inputs.get(i).tokens();
        }
        check(inputs);
        inputs.getFirst().sequence().pool().reserve(sequences, counts);
    }

    /**
     * Runs passes whose blocks are {@link #reserve reserved}: independent sets of inputs (no sequence in two), which
     * a sharded layer stack runs concurrently. Returns per pass what {@link #forward} returns. The observer sees
     * the residual stream of a single pass.
     */
    public List<List<float[]>> forwardReserved(List<List<StepInput>> passes, ForwardObserver observer) {
        int h = config.hiddenSize();
        List<LayerStack.Pass> stackPasses = new ArrayList<>(passes.size());
        for (List<StepInput> inputs : passes) {
            check(inputs);
            List<StepLayout.Entry> entries = new ArrayList<>(inputs.size());
            int rows = 0;
            for (StepInput in : inputs) {
                entries.add(new StepLayout.Entry(in.sequence().blockTable(), in.sequence().length(), in.tokens()));
                rows += in.tokens();
            }
            float[] x = new float[rows * h];
            int at = 0;
            for (StepInput in : inputs) {
                System.arraycopy(in.embeddings(), 0, x, at, in.tokens() * h);
                at += in.tokens() * h;
            }
            if (passes.size() == 1) {
                observer.residual(0, x, rows, h);
            }
            int[] outputRows = observer.wantsFinalHidden() ? java.util.stream.IntStream.range(0, rows).toArray() : logitRows(inputs);
            stackPasses.add(new LayerStack.Pass(new StepLayout(entries), x, outputRows));
        }
        List<float[]> hidden = layers.forward(stackPasses, passes.getFirst().getFirst().sequence().pool(), observer);
        List<List<float[]>> out = new ArrayList<>(passes.size());
        for (int p = 0; p < passes.size(); p++) {
            for (StepInput in : passes.get(p)) {
                in.sequence().advance(in.tokens());
            }
            out.add(logits(passes.get(p), stackPasses.get(p).outputRows(), hidden.get(p), observer));
        }
        return out;
    }

    private void check(List<StepInput> inputs) {
        int h = config.hiddenSize();
        KvBlockPool cache = inputs.getFirst().sequence().pool();
        java.util.Set<KvSequence> seen = new java.util.HashSet<>();
        for (int i = 0; i < inputs.size(); i++) {
            StepInput in = inputs.get(i);
            if (in.embeddings().length != in.tokens() * h) {
                throw new IllegalArgumentException("input " + i + ": " + in.embeddings().length + " values for "
                        + in.tokens() + " tokens of width " + h);
            }
            if (in.sequence().pool() != cache) {
                throw new IllegalArgumentException("all sequences of a step must share one KV pool");
            }
            if (!seen.add(in.sequence())) {
                throw new IllegalArgumentException("a sequence appears twice in one step");
            }
        }
    }

    /** The rows of a pass (inputs concatenated) whose logits its inputs asked for, in order. */
    private static int[] logitRows(List<StepInput> inputs) {
        List<Integer> selected = new ArrayList<>();
        int first = 0;
        for (StepInput in : inputs) {
            switch (in.logits()) {
                case NONE -> {
                }
                case LAST -> selected.add(first + in.tokens() - 1);
                case ALL -> {
                    for (int r = first; r < first + in.tokens(); r++) {
                        selected.add(r);
                    }
                }
            }
            first += in.tokens();
        }
        return selected.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Final norm and lm_head for the rows the inputs asked logits for. {@code hidden} holds the last layer's output
     * for {@code outputRows}: those rows alone, or every row when the observer wants the final hidden states.
     */
    private List<float[]> logits(List<StepInput> inputs, int[] outputRows, float[] hidden, ForwardObserver observer) {
        int h = config.hiddenSize();
        int vocab = config.vocabSize();
        float[] picked;
        if (observer.wantsFinalHidden()) {
            float[] normed = new float[hidden.length];
            Norms.rmsNorm(pool, hidden, outputRows.length, h, finalNorm, eps, normed);
            observer.finalHidden(normed, outputRows.length, h);
            int[] wanted = logitRows(inputs);
            picked = new float[wanted.length * h];
            for (int j = 0; j < wanted.length; j++) {
                System.arraycopy(normed, wanted[j] * h, picked, j * h, h);
            }
        } else {
            picked = hidden;
            Norms.rmsNorm(pool, picked, outputRows.length, h, finalNorm, eps, picked);
        }
        int selected = picked.length / h;
        // Each input's logits rows go straight into its own array: a batch's are not copied out of one product.
        float[][] rowArrays = new float[selected][];
        int[] rowStarts = new int[selected];
        List<float[]> out = new ArrayList<>(inputs.size());
        int at = 0;
        for (StepInput in : inputs) {
            int n = switch (in.logits()) {
                case NONE -> 0;
                case LAST -> 1;
                case ALL -> in.tokens();
            };
            float[] mine = n == 0 ? null : new float[n * vocab];
            for (int j = 0; j < n; j++) {
                rowArrays[at] = mine;
                rowStarts[at] = j * vocab;
                at++;
            }
            out.add(mine);
        }
        MatMul.linearRows(pool, precision, picked, selected, lmHead, null, rowArrays, rowStarts);
        return out;
    }
}
