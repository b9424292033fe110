package dev.internvl.mesh.model.llm;

import dev.internvl.mesh.TestData;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.compute.ComputePool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cache and batching machinery must not change results: every path agrees with the plain one. */
class Qwen2EngineTest {
    private static final ComputePool POOL = new ComputePool(2);
    private static Checkpoint checkpoint;
    private static Qwen2Model model;

    @BeforeAll
    static void load() {
        checkpoint = Checkpoint.open(TestData.checkpoint("tiny-6b-style"));
        model = Qwen2Model.load(checkpoint, POOL);
    }

    @AfterAll
    static void close() {
        checkpoint.close();
        POOL.close();
    }

    static int[] randomTokens(int n, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(model.config().vocabSize());
        }
        return t;
    }

    /** All positions' logits of one prompt run with the given chunk size, on a fresh cache. */
    static float[] promptLogits(int[] prompt, int chunk) throws KvCacheFullException {
        KvBlockPool cache = model.newKvCache(16, 64);
        KvSequence seq = cache.newSequence();
        int vocab = model.config().vocabSize();
        float[] all = new float[prompt.length * vocab];
        for (int from = 0; from < prompt.length; from += chunk) {
            int to = Math.min(prompt.length, from + chunk);
            var in = new StepInput(seq, model.embed(prompt, from, to, null), to - from, LogitRows.ALL);
            System.arraycopy(model.forward(List.of(in), ForwardObserver.NONE).getFirst(), 0, all, from * vocab, (to - from) * vocab);
        }
        seq.release();
        assertEquals(cache.blockCount(), cache.freeBlocks());
        return all;
    }

    @Test
    void chunkedPrefillEqualsOneShot() throws KvCacheFullException {
        int[] prompt = randomTokens(70, 1);
        float[] oneShot = promptLogits(prompt, prompt.length);
        for (int chunk : new int[]{1, 5, 16, 33}) {
            TestData.assertMaxAbs("chunk " + chunk, promptLogits(prompt, chunk), oneShot, 1e-4);
        }
    }

    @Test
    void decodeWithCacheEqualsFullRecompute() throws KvCacheFullException {
        int[] prompt = randomTokens(20, 2);
        KvBlockPool cache = model.newKvCache(4, 32);
        KvSequence seq = cache.newSequence();
        float[] logits = model.prefill(seq, prompt, null, 8);
        int[] all = new int[prompt.length + 12];
        System.arraycopy(prompt, 0, all, 0, prompt.length);
        for (int step = 0; step < 12; step++) {
            int next = argmax(logits);
            all[prompt.length + step] = next;
            logits = model.decode(List.of(seq), new int[]{next}).getFirst();
        }
        assertEquals(all.length, seq.length());
        KvSequence fresh = cache.newSequence();
        float[] recomputed = model.prefill(fresh, all, null, all.length);
        TestData.assertMaxAbs("decode vs recompute", logits, recomputed, 1e-4);
        seq.release();
        fresh.release();
        assertEquals(cache.blockCount(), cache.freeBlocks());
    }

    /** Batches of 3 and 9 (the streaming kernel, one and several x-row groups) and 50 (the packed kernel). */
    @Test
    void batchedDecodeEqualsEachAlone() throws KvCacheFullException {
        for (int batch : new int[]{3, 9, 50}) {
            KvBlockPool cache = model.newKvCache(16, 8 * batch);
            List<KvSequence> together = new ArrayList<>();
            List<KvSequence> alone = new ArrayList<>();
            int[] next = new int[batch];
            for (int b = 0; b < batch; b++) {
                int[] prompt = randomTokens(3 + 7 * b % 40, 100 + b);
                together.add(cache.newSequence());
                alone.add(cache.newSequence());
                next[b] = argmax(model.prefill(together.get(b), prompt, null, 16));
                model.prefill(alone.get(b), prompt, null, 16);
            }
            for (int step = 0; step < 3; step++) {
                List<float[]> batched = model.decode(together, next);
                for (int b = 0; b < batch; b++) {
                    float[] single = model.decode(List.of(alone.get(b)), new int[]{next[b]}).getFirst();
                    TestData.assertMaxAbs("batch " + batch + " sequence " + b + " step " + step, batched.get(b), single, 1e-4);
                    next[b] = argmax(single);
                }
            }
            together.forEach(KvSequence::release);
            alone.forEach(KvSequence::release);
            assertEquals(cache.blockCount(), cache.freeBlocks());
        }
    }

    @Test
    void mixedStepOfPrefillChunkAndDecodeToken() throws KvCacheFullException {
        KvBlockPool cache = model.newKvCache(16, 16);
        int[] a = randomTokens(10, 7);
        int[] b = randomTokens(25, 8);
        KvSequence seqA = cache.newSequence();
        KvSequence seqB = cache.newSequence();
        model.prefill(seqA, a, null, 16);
        int nextA = 42;
        // One step: seqA decodes a token while seqB prefills its whole prompt.
        List<float[]> mixed = model.forward(List.of(
                new StepInput(seqA, model.embed(new int[]{nextA}, 0, 1, null), 1, LogitRows.LAST),
                new StepInput(seqB, model.embed(b, 0, b.length, null), b.length, LogitRows.NONE)), ForwardObserver.NONE);
        assertNull(mixed.get(1));
        KvSequence refA = cache.newSequence();
        int[] aPlus = new int[a.length + 1];
        System.arraycopy(a, 0, aPlus, 0, a.length);
        aPlus[a.length] = nextA;
        TestData.assertMaxAbs("decode in a mixed step", mixed.get(0), model.prefill(refA, aPlus, null, 64), 1e-4);
        assertEquals(b.length, seqB.length());
    }

    @Test
    void splicedImageRowsReplaceContextTokensInOrder() throws KvCacheFullException {
        int h = model.config().hiddenSize();
        int context = 151667;
        int[] prompt = {1, context, 2, context, context, 3};
        float[] rows = new float[3 * h];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i * 0.01f;
        }
        var splice = new ImageSplice(context, rows, 3);
        float[] embedded = model.embed(prompt, 2, 5, splice); // starts after one context token: rows 1 and 2
        float[] plain = model.embed(prompt, 2, 3, null);
        for (int c = 0; c < h; c++) {
            assertEquals(plain[c], embedded[c]);
            assertEquals(rows[h + c], embedded[h + c]);
            assertEquals(rows[2 * h + c], embedded[2 * h + c]);
        }
        KvBlockPool cache = model.newKvCache(16, 4);
        // Three context tokens but two image rows: refused before anything runs.
        assertThrows(IllegalArgumentException.class,
                () -> model.prefill(cache.newSequence(), prompt, new ImageSplice(context, new float[2 * h], 2), 4));
    }

    @Test
    void fullCacheFailsTheStepWithoutSideEffects() throws KvCacheFullException {
        KvBlockPool cache = model.newKvCache(4, 3);
        KvSequence seq = cache.newSequence();
        model.prefill(seq, randomTokens(8, 3), null, 8);
        assertThrows(KvCacheFullException.class, () -> model.prefill(seq, randomTokens(5, 4), null, 8));
        assertEquals(8, seq.length());
        assertEquals(1, cache.freeBlocks());
        seq.release();
        assertEquals(3, cache.freeBlocks());
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
