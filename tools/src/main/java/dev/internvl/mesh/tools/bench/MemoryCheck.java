package dev.internvl.mesh.tools.bench;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.WeightSchema;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.KvSequence;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.sampling.Sampler;
import dev.internvl.mesh.sampling.SamplingParams;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The bench's memory figure, in a JVM of its own so that nothing else the bench ran counts: the language model
 * serving {@value #SEQUENCES} sequences of {@value #CONTEXT} tokens, decoding together. The KV pool is sized for all
 * of them; to keep the run short they share a cached {@value #SHARED_PREFIX}-token prefix (prefix caching) and
 * each prefills its own suffix, which leaves the peak memory as it is, since the pool is allocated whole at start.
 * Prints one line: {@code weights=<bytes> kv=<bytes> peak_rss=<bytes>}.
 */
public final class MemoryCheck {
    static final int SEQUENCES = 16;
    static final int CONTEXT = 4096;
    static final int SHARED_PREFIX = 3840;
    static final int BLOCK = 16;
    private static final int DECODE_STEPS = 4;

    private MemoryCheck() {
    }

    /** Blocks of the KV pool: every sequence at its full context, plus one block to grow into. */
    static int blocks() {
        return SEQUENCES * (CONTEXT / BLOCK + 1);
    }

    public static void main(String[] args) throws Exception {
        try (Checkpoint checkpoint = Checkpoint.open(Path.of(args[0]))) {
            Qwen2Model llm = Qwen2Model.load(checkpoint, ComputePool.shared(), Precision.FAST);
            KvBlockPool cache = llm.newKvCache(BLOCK, blocks());
            int vocab = llm.config().vocabSize();
            Random random = new Random(4);
            KvSequence first = cache.newSequence();
            llm.prefill(first, random.ints(SHARED_PREFIX, 0, vocab).toArray(), null, 512);
            long[] hashes = new long[SHARED_PREFIX / BLOCK];
            int[] table = first.blockTable();
            for (int b = 0; b < hashes.length; b++) {
                hashes[b] = 1000L + b;
                cache.registerPrefix(table[b], hashes[b]);
            }
            List<KvSequence> sequences = new ArrayList<>();
            sequences.add(first);
            for (int s = 1; s < SEQUENCES; s++) {
                KvSequence seq = cache.newSequence();
                cache.attachCachedPrefix(seq, hashes, hashes.length);
                sequences.add(seq);
            }
            int[] next = new int[SEQUENCES];
            Sampler greedy = new Sampler(SamplingParams.builder().temperature(0).build()); // no penalty: no history
            for (int s = 0; s < SEQUENCES; s++) {
                float[] logits = llm.prefill(sequences.get(s), random.ints(CONTEXT - SHARED_PREFIX, 0, vocab).toArray(), null, 512);
                next[s] = greedy.sample(logits, next, 0).tokenId();
            }
            for (int step = 0; step < DECODE_STEPS; step++) {
                List<float[]> logits = llm.decode(sequences, next);
                for (int s = 0; s < SEQUENCES; s++) {
                    next[s] = greedy.sample(logits.get(s), next, 0).tokenId();
                }
            }
            long kv = (long) cache.blockCount() * KvBlockPool.bytesPerBlock(llm.config(), BLOCK);
            System.out.printf("weights=%d kv=%d peak_rss=%d%n", languageModelBytes(checkpoint), kv, peakRssBytes());
        }
    }

    /** Every language-model tensor in the file (the embedding table too: prompts touch rows all over it). */
    private static long languageModelBytes(Checkpoint checkpoint) {
        long bytes = 0;
        for (var e : checkpoint.weights().tensors().entrySet()) {
            if (e.getKey().startsWith(WeightSchema.LLM)) {
                bytes += e.getValue().data().byteSize();
            }
        }
        return bytes;
    }

    static long peakRssBytes() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmHWM:")) {
                return Long.parseLong(l.replaceAll("\\D", "")) * 1024;
            }
        }
        return -1;
    }
}
