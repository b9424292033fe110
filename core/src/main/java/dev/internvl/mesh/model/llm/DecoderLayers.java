package dev.internvl.mesh.model.llm;

import dev.internvl.mesh.checkpoint.LlmConfig;
import dev.internvl.mesh.checkpoint.WeightSchema;
import dev.internvl.mesh.checkpoint.WeightStore;
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
 * A contiguous range of Qwen2 decoder layers over a paged KV cache: the whole decoder in one process, or one layer
 * shard's part. A pass takes any mix of sequences, each appending one or more positions (a prefill chunk, or one
 * token of a decode batch); every weight matrix is read once per pass for all rows, and attention runs per
 * sequence over its own cached blocks.
 */
public final class DecoderLayers implements LayerStack {
    private final ComputePool pool;
    private final Precision precision;
    private final LlmConfig config;
    private final LayerRange range;
    private final List<Layer> layers;
    private final Rope rope;
    private final float eps;
    private final float attentionScale;

    private record Layer(float[] inputNorm, WeightMatrix q, float[] qBias, WeightMatrix k, float[] kBias,
                         WeightMatrix v, float[] vBias, WeightMatrix o, float[] postAttentionNorm,
                         WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
        static Layer read(WeightReader w, int i) {
            return new Layer(
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

    private DecoderLayers(ComputePool pool, Precision precision, LlmConfig config, LayerRange range, List<Layer> layers) {
        this.pool = pool;
        this.precision = precision;
        this.config = config;
        this.range = range;
        this.layers = layers;
        this.rope = new Rope(config.headDim(), config.ropeTheta());
        this.eps = (float) config.rmsNormEps();
        this.attentionScale = (float) Math.pow(config.headDim(), -0.5);
    }

    /** The layers of {@code range}, their weights read in place from {@code weights}. */
    public static DecoderLayers load(LlmConfig config, WeightStore weights, LayerRange range, ComputePool pool, Precision precision) {
        if (range.end() > config.numLayers()) {
            throw new IllegalArgumentException("layers " + range + " do not exist: the model has " + config.numLayers());
        }
        WeightReader w = new WeightReader(weights);
        List<Layer> list = new ArrayList<>(range.count());
        for (int i = range.first(); i < range.end(); i++) {
            list.add(Layer.read(w, i));
        }
        return new DecoderLayers(pool, precision, config, range, List.copyOf(list));
    }

    @Override
    public KvBlockPool newKvCache(int blockSize, int blockCount) {
        return new KvBlockPool(range.count(), config.kvDim(), blockSize, blockCount);
    }

    /** Storage for these layers' keys and values, {@code blockCount} blocks of {@code blockSize} positions. */
    public KvStorage newStorage(int blockSize, int blockCount) {
        return new KvStorage(range.count(), config.kvDim(), blockSize, blockCount);
    }

    @Override
    public List<float[]> forward(List<Pass> passes, KvBlockPool blocks, ForwardObserver observer) {
        List<float[]> out = new ArrayList<>(passes.size());
        for (Pass p : passes) {
            run(p.layout(), p.input(), blocks.storage(), observer);
            out.add(rows(p.input(), p.outputRows()));
        }
        return out;
    }

    /** The rows {@code wanted} of {@code x}, in that order. */
    public float[] rows(float[] x, int[] wanted) {
        int h = config.hiddenSize();
        float[] picked = new float[wanted.length * h];
        for (int j = 0; j < wanted.length; j++) {
            System.arraycopy(x, wanted[j] * h, picked, j * h, h);
        }
        return picked;
    }

    /**
     * Runs {@code x [rows, hidden]} through these layers in place, storing each row's keys and values in
     * {@code storage} under its sequence's block table.
     */
    public void run(StepLayout layout, float[] x, KvStorage storage, ForwardObserver observer) {
        int h = config.hiddenSize();
        int rows = layout.rows();
        if (x.length != rows * h) {
            throw new IllegalArgumentException(x.length + " hidden values for " + rows + " rows of width " + h);
        }
        if (storage.layers() != range.count()) {
            throw new IllegalArgumentException("KV storage for " + storage.layers() + " layers, these are " + range.count());
        }
        int[] firstRow = new int[layout.entries().size() + 1];
        int[] positions = new int[rows];
        for (int i = 0; i < layout.entries().size(); i++) {
            StepLayout.Entry e = layout.entries().get(i);
            firstRow[i + 1] = firstRow[i] + e.count();
            if ((e.start() + e.count() + storage.blockSize() - 1) / storage.blockSize() > e.blockTable().length) {
                throw new IllegalArgumentException("sequence " + i + ": positions up to " + (e.start() + e.count())
                        + " need more blocks than its table of " + e.blockTable().length);
            }
            for (int t = 0; t < e.count(); t++) {
                positions[firstRow[i] + t] = e.start() + t;
            }
        }
        Step step = new Step(layout.entries(), firstRow, rope.angles(positions), rows);
        Buffers buffers = new Buffers(rows);
        for (int l = 0; l < layers.size(); l++) {
            layer(l, layers.get(l), x, step, storage, buffers);
            observer.residual(range.first() + l + 1, x, rows, h);
        }
    }

    /** Per-pass facts the layers share: where each sequence's rows are, and their RoPE angles. */
    private record Step(List<StepLayout.Entry> sequences, int[] firstRow, Rope.Angles angles, int rows) {
    }

    /** Working arrays of one pass, shared by all layers. */
    private final class Buffers {
        final float[] normed;
        final float[] q;
        final float[] k;
        final float[] v;
        final float[] attention;
        final float[] gate;
        final float[] up;

        Buffers(int rows) {
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

    private void layer(int index, Layer layer, float[] x, Step step, KvStorage storage, Buffers b) {
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
        int blockSize = storage.blockSize();
        float[] keys = storage.keys(index);
        float[] values = storage.values(index);
        for (int i = 0; i < step.sequences().size(); i++) {
            StepLayout.Entry s = step.sequences().get(i);
            for (int m = step.firstRow()[i]; m < step.firstRow()[i + 1]; m++) {
                rope.apply(q, m * qDim, config.numHeads(), step.angles(), m);
                rope.apply(k, m * kvDim, config.numKvHeads(), step.angles(), m);
                int position = s.start() + m - step.firstRow()[i];
                int keyAt = storage.keyOffset(s.blockTable(), position);
                for (int f = 0; f < kvDim; f++) {
                    keys[keyAt + f * blockSize] = k[m * kvDim + f];
                }
                System.arraycopy(v, m * kvDim, values, storage.valueOffset(s.blockTable(), position), kvDim);
            }
        }
        float[] attention = b.attention;
        attend(q, step, storage, keys, values, attention);
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
    private void attend(float[] q, Step step, KvStorage storage, float[] keys, float[] values, float[] out) {
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
            StepLayout.Entry s = step.sequences().get(i);
            int[] table = s.blockTable();
            int first = step.firstRow()[i];
            int count = step.firstRow()[i + 1] - first;
            int start = s.start();
            if (count == 1) { // a decode row: its heads of this group are already side by side in q and out
                int at = first * qDim + g * group * d;
                int bs = storage.blockSize();
                Attention.attendOnePosition(q, at, group, d, keys, p -> storage.keyOffset(table, p) + g * d * bs, bs,
                        values, p -> storage.valueOffset(table, p) + g * d, config.kvDim(), start + 1, attentionScale,
                        out, at);
                return;
            }
            int rows = Math.min(tile, count * group - r0);
            float[] stackedQ = new float[rows * d];
            for (int r = 0; r < rows; r++) {
                int pos = (r0 + r) / group;
                int head = g * group + (r0 + r) % group;
                System.arraycopy(q, (first + pos) * qDim + head * d, stackedQ, r * d, d);
            }
            int keyCount = start + count;
            RowLocator valueRows = position -> storage.valueOffset(table, position) + g * d;
            float[] stackedOut = new float[rows * d];
            Attention.attend(pool, stackedQ, 0, d, rows, new PagedKeys(keys, storage, table, g * d, keyCount, d),
                    new FloatColumns(values, valueRows, d, keyCount), keyCount, r -> start + (r0 + r) / group + 1,
                    attentionScale, stackedOut, 0, d);
            for (int r = 0; r < rows; r++) {
                int pos = (r0 + r) / group;
                int head = g * group + (r0 + r) % group;
                System.arraycopy(stackedOut, r * d, out, (first + pos) * qDim + head * d, d);
            }
        });
    }
}
