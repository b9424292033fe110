package dev.internvl.mesh.model.llm;

import dev.internvl.mesh.TestData;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.WeightSchema;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoder split by layers, each range over a storage of its own and opened from only its part of the
 * checkpoint, computes exactly what the whole decoder computes: the arithmetic layer shards rely on.
 */
class LayerSplitTest {
    private static final ComputePool POOL = new ComputePool(2);
    private static final String CHECKPOINT = "tiny-6b-style";
    private static Checkpoint whole;
    private static Qwen2Model model;

    @BeforeAll
    static void load() {
        whole = Checkpoint.open(TestData.checkpoint(CHECKPOINT));
        model = Qwen2Model.load(whole, POOL, Precision.EXACT);
    }

    @AfterAll
    static void close() {
        whole.close();
        POOL.close();
    }

    /** Ranges run one after another in this process, each with its own storage: layer shards without the wire. */
    private record ChainedRanges(List<DecoderLayers> ranges, List<KvStorage> storages) implements LayerStack {
        @Override
        public List<float[]> forward(List<Pass> passes, KvBlockPool pool, ForwardObserver observer) {
            List<float[]> out = new ArrayList<>();
            for (Pass p : passes) {
                for (int i = 0; i < ranges.size(); i++) {
                    ranges.get(i).run(p.layout(), p.input(), storages.get(i), observer);
                }
                out.add(ranges.getLast().rows(p.input(), p.outputRows()));
            }
            return out;
        }

        @Override
        public KvBlockPool newKvCache(int blockSize, int blockCount) {
            return KvBlockPool.withoutStorage(blockSize, blockCount);
        }
    }

    @Test
    void splitLayersGiveTheWholeModelsLogitsBitForBit() throws Exception {
        int layers = model.config().numLayers();
        int[] prompt = new java.util.Random(7).ints(40, 0, model.config().vocabSize()).toArray();
        for (int parts : new int[]{1, 2, layers}) {
            List<Checkpoint> opened = new ArrayList<>();
            try {
                List<DecoderLayers> ranges = new ArrayList<>();
                List<KvStorage> storages = new ArrayList<>();
                for (LayerRange r : LayerRange.split(layers, parts)) {
                    Checkpoint part = Checkpoint.open(TestData.checkpoint(CHECKPOINT), WeightSchema.llmLayers(r.first(), r.end()));
                    opened.add(part);
                    DecoderLayers range = DecoderLayers.load(part.config().llm(), part.weights(), r, POOL, Precision.EXACT);
                    ranges.add(range);
                    storages.add(range.newStorage(16, 8));
                }
                Checkpoint outside = Checkpoint.open(TestData.checkpoint(CHECKPOINT), WeightSchema.LLM_OUTSIDE_LAYERS);
                opened.add(outside);
                Qwen2Model split = Qwen2Model.withLayers(outside, POOL, Precision.EXACT, new ChainedRanges(ranges, storages));
                assertArrayEquals(run(model, prompt), run(split, prompt), parts + " parts");
            } finally {
                opened.forEach(Checkpoint::close);
            }
        }
    }

    /** Logits of a prompt in two chunks, then of three greedy decode steps. */
    private static float[] run(Qwen2Model m, int[] prompt) throws KvCacheFullException {
        KvBlockPool cache = m.newKvCache(16, 8);
        KvSequence seq = cache.newSequence();
        int vocab = m.config().vocabSize();
        List<float[]> all = new ArrayList<>();
        all.add(m.forward(List.of(new StepInput(seq, m.embed(prompt, 0, 32, null), 32, LogitRows.ALL)), ForwardObserver.NONE).getFirst());
        float[] last = m.forward(List.of(new StepInput(seq, m.embed(prompt, 32, prompt.length, null), prompt.length - 32, LogitRows.LAST)),
                ForwardObserver.NONE).getFirst();
        all.add(last);
        for (int step = 0; step < 3; step++) {
            int next = argmax(last, vocab);
            last = m.forward(List.of(new StepInput(seq, m.embed(new int[]{next}, 0, 1, null), 1, LogitRows.LAST)), ForwardObserver.NONE).getFirst();
            all.add(last);
        }
        seq.release();
        int size = all.stream().mapToInt(a -> a.length).sum();
        float[] flat = new float[size];
        int at = 0;
        for (float[] a : all) {
            System.arraycopy(a, 0, flat, at, a.length);
            at += a.length;
        }
        return flat;
    }

    private static int argmax(float[] logits, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void aPartOfTheCheckpointMapsOnlyItsTensors() {
        try (Checkpoint part = Checkpoint.open(TestData.checkpoint(CHECKPOINT), WeightSchema.llmLayers(1, 2))) {
            assertFalse(part.weights().tensors().isEmpty());
            assertTrue(part.weights().tensors().keySet().stream().allMatch(n -> n.startsWith("language_model.model.layers.1.")),
                    part.weights().tensors().keySet().toString());
            assertFalse(part.weights().contains(WeightSchema.EMBED_TOKENS));
        }
    }

    @Test
    void layerRangesSplitEvenlyAndParse() {
        assertEquals(List.of(new LayerRange(0, 7), new LayerRange(7, 14), new LayerRange(14, 21), new LayerRange(21, 28)),
                LayerRange.split(28, 4));
        assertEquals(List.of(new LayerRange(0, 3), new LayerRange(3, 5), new LayerRange(5, 7)), LayerRange.split(7, 3));
        assertEquals(new LayerRange(20, 40), LayerRange.parse(" 20-39 "));
        assertEquals("20-39", new LayerRange(20, 40).toString());
        assertThrows(IllegalArgumentException.class, () -> LayerRange.split(2, 3));
        assertThrows(IllegalArgumentException.class, () -> LayerRange.parse("5"));
        assertThrows(IllegalArgumentException.class, () -> LayerRange.parse("9-3"));
    }

    @Test
    void storageRefusesBlocksItDoesNotHold() throws Exception {
        DecoderLayers all = DecoderLayers.load(whole.config().llm(), whole.weights(), LayerRange.all(model.config().numLayers()), POOL, Precision.EXACT);
        KvStorage small = all.newStorage(16, 2);
        float[] x = model.embed(new int[]{1, 2}, 0, 2, null);
        var layout = new StepLayout(List.of(new StepLayout.Entry(new int[]{5}, 0, 2)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> all.run(layout, x, small, ForwardObserver.NONE));
        assertTrue(e.getMessage().contains("KV block 5"), e.getMessage());
        var tooShort = new StepLayout(List.of(new StepLayout.Entry(new int[]{0}, 10, 8)));
        assertThrows(IllegalArgumentException.class, () -> all.run(tooShort, model.embed(new int[8], 0, 8, null), small, ForwardObserver.NONE));
    }
}
