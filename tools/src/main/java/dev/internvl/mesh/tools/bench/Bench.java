package dev.internvl.mesh.tools.bench;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.LlmConfig;
import dev.internvl.mesh.checkpoint.TensorView;
import dev.internvl.mesh.checkpoint.VisionConfig;
import dev.internvl.mesh.checkpoint.WeightSchema;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.KvCacheFullException;
import dev.internvl.mesh.model.llm.KvSequence;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.model.vision.VisionEncoder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * {@code make bench}: the engine's speed on a checkpoint (InternVL2_5-1B's shapes by default), each figure beside
 * the machine limit that bounds it, all measured in this run: the fp32 FMA peak for the compute-bound passes (ViT,
 * prefill) and the memory-read bandwidth for decode, which reads every weight once per step.
 */
public final class Bench {
    private static final int RUNS = 3;

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: bench <model-dir>");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int threads = ComputePool.shared().threads();
        MachineProbe probe = new MachineProbe(threads);
        System.out.printf(Locale.ROOT, "model: %s, threads: %d, vector width: %d floats%n", dir, threads,
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length());

        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            long llmWeightBytes = llmBytesPerToken(checkpoint);
            probe.fmaPeak(50_000_000L, 1); // JIT warm-up
            Measurement fma = probe.fmaPeak(600_000_000L, 5);
            Measurement bandwidth = probe.readBandwidth(Math.max(1L << 30, llmWeightBytes), 5);
            line("machine fp32 FMA peak", fma.describe(1e9, "GFLOP/s"), "");
            line("machine memory read bandwidth", bandwidth.describe(1e9, "GB/s"), "");

            VisionEncoder vision = VisionEncoder.load(checkpoint);
            benchVision(checkpoint, vision, fma);

            Qwen2Model llm = Qwen2Model.load(checkpoint);
            benchPrefill(llm, 512, fma);
            benchPrefill(llm, 3328, fma);
            for (int batch : new int[]{1, 4, 16}) {
                benchDecode(llm, batch, llmWeightBytes, bandwidth);
            }
        }
        line("peak RSS", String.format(Locale.ROOT, "%.0f MiB", peakRssBytes() / 1048576.0), "(weights are memory-mapped)");
    }

    private static void line(String what, String figure, String note) {
        System.out.printf(Locale.ROOT, "%-38s %-40s %s%n", what, figure, note);
    }

    private static String fraction(double value, double limit, String limitName) {
        return String.format(Locale.ROOT, "%.0f%% of %s", 100 * value / limit, limitName);
    }

    private static void benchVision(Checkpoint checkpoint, VisionEncoder vision, Measurement fma) {
        VisionConfig v = checkpoint.config().vision();
        int size = v.imageSize();
        float[] pixels = new float[3 * size * size];
        Random random = new Random(1);
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = random.nextFloat() * 4 - 2; // the range of normalised pixel values
        }
        vision.encode(pixels, 1); // warm-up
        Measurement m = new Measurement();
        for (int r = 0; r < RUNS; r++) {
            long t = System.nanoTime();
            vision.encode(pixels, 1);
            m.add(1e9 / (System.nanoTime() - t)); // tiles per second
        }
        double flops = visionFlopsPerTile(checkpoint);
        double msPerTile = 1000 / m.best();
        line("ViT ms per 448 px tile", String.format(Locale.ROOT, "%.0f ms (best of %d, spread %.0f%%)", msPerTile, RUNS, 100 * m.spread()),
                fraction(flops * m.best(), fma.best(), "FMA peak"));
    }

    private static void benchPrefill(Qwen2Model llm, int tokens, Measurement fma) throws KvCacheFullException {
        LlmConfig c = llm.config();
        int[] prompt = new Random(tokens).ints(tokens, 0, c.vocabSize()).toArray();
        KvBlockPool cache = llm.newKvCache(16, tokens / 16 + 2);
        Measurement m = new Measurement();
        int runs = tokens > 1024 ? 2 : RUNS;
        for (int r = 0; r <= runs; r++) { // the first run warms up
            KvSequence seq = cache.newSequence();
            long t = System.nanoTime();
            llm.prefill(seq, prompt, null, 512);
            long elapsed = System.nanoTime() - t;
            seq.release();
            if (r > 0) {
                m.add(tokens * 1e9 / elapsed);
            }
        }
        double flopsPerToken = 2.0 * llmMatmulParams(c) + 2.0 * 2 * c.numLayers() * c.hiddenSize() * (tokens / 2.0);
        line("prefill tokens/s at " + tokens + " tokens", m.describe(1, "tokens/s"),
                fraction(flopsPerToken * m.best(), fma.best(), "FMA peak"));
    }

    private static void benchDecode(Qwen2Model llm, int batch, long bytesPerStep, Measurement bandwidth) throws KvCacheFullException {
        LlmConfig c = llm.config();
        int promptLength = 64;
        int steps = 24;
        KvBlockPool cache = llm.newKvCache(16, batch * ((promptLength + 2 * steps) / 16 + 2));
        Random random = new Random(batch);
        Measurement m = new Measurement();
        for (int r = 0; r <= RUNS; r++) {
            List<KvSequence> seqs = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                KvSequence s = cache.newSequence();
                llm.prefill(s, random.ints(promptLength, 0, c.vocabSize()).toArray(), null, 512);
                seqs.add(s);
            }
            int[] tokens = random.ints(batch, 0, c.vocabSize()).toArray();
            long t = System.nanoTime();
            for (int step = 0; step < steps; step++) {
                List<float[]> logits = llm.decode(seqs, tokens);
                for (int b = 0; b < batch; b++) {
                    tokens[b] = argmax(logits.get(b));
                }
            }
            long elapsed = System.nanoTime() - t;
            seqs.forEach(KvSequence::release);
            if (r > 0) {
                m.add((double) batch * steps * 1e9 / elapsed);
            }
        }
        double stepsPerSecond = m.best() / batch;
        line("decode tokens/s at batch " + batch, m.describe(1, "tokens/s"),
                fraction(bytesPerStep * stepsPerSecond, bandwidth.best(), "read bandwidth")
                        + String.format(Locale.ROOT, " (%.2f GB of weights per step)", bytesPerStep / 1e9));
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Bytes of language-model weights one decode step reads: every layer, the final norm and the lm_head. */
    private static long llmBytesPerToken(Checkpoint checkpoint) {
        long bytes = 0;
        for (var e : checkpoint.weights().tensors().entrySet()) {
            if (e.getKey().startsWith(WeightSchema.LLM) && !e.getKey().equals(WeightSchema.EMBED_TOKENS)) {
                bytes += e.getValue().data().byteSize();
            }
        }
        TensorView head = checkpoint.lmHead();
        if (head.name().equals(WeightSchema.EMBED_TOKENS)) {
            bytes += head.data().byteSize();
        }
        return bytes;
    }

    /** Multiply-adds per token in the decoder's matrix products (layers and lm_head). */
    private static double llmMatmulParams(LlmConfig c) {
        double h = c.hiddenSize();
        double perLayer = h * h * 2 + 2 * h * c.kvDim() + 3 * h * c.intermediateSize();
        return perLayer * c.numLayers() + h * c.vocabSize();
    }

    private static double visionFlopsPerTile(Checkpoint checkpoint) {
        VisionConfig v = checkpoint.config().vision();
        double n = v.sequenceLength();
        double c = v.hiddenSize();
        double perLayer = 2 * n * (4 * c * c + 2 * c * v.intermediateSize()) + 2 * 2 * n * n * c;
        double patch = 2 * n * c * 3 * v.patchSize() * v.patchSize();
        double projector = 2 * 256.0 * (checkpoint.config().projectorInputSize() + checkpoint.config().llm().hiddenSize())
                * checkpoint.config().llm().hiddenSize();
        return perLayer * v.numLayers() + patch + projector;
    }

    private static long peakRssBytes() throws java.io.IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmHWM:")) {
                return Long.parseLong(l.replaceAll("\\D", "")) * 1024;
            }
        }
        return -1;
    }
}
