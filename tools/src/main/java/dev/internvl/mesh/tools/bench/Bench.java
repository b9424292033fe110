package dev.internvl.mesh.tools.bench;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.HugePages;
import dev.internvl.mesh.checkpoint.LlmConfig;
import dev.internvl.mesh.checkpoint.TensorView;
import dev.internvl.mesh.checkpoint.VisionConfig;
import dev.internvl.mesh.checkpoint.WeightSchema;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.MatMul;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.engine.EngineJvm;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.KvCacheFullException;
import dev.internvl.mesh.model.llm.KvSequence;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.model.vision.VisionEncoder;
import dev.internvl.mesh.sampling.Sampler;
import dev.internvl.mesh.sampling.SamplingParams;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * {@code make bench}: the engine's speed on a checkpoint with InternVL2_5-1B's shapes, every figure beside its
 * target and the machine limit that bounds it, all measured in this run (the VM is noisy: each figure is the best
 * of several runs, with the spread). Limits: the fp32 FMA peak, the BF16 dot-product peak (twice that where the CPU
 * has AVX512_BF16), and the memory-read bandwidth, measured next to each decode run. Ends with
 * {@code N targets met, M missed}.
 */
public final class Bench {
    private static final int RUNS = 3;
    private static final int DECODE_STEPS = 32;
    /** The prompt of one image at InternVL's default 12 tiles and a thumbnail, 256 tokens each. */
    private static final int IMAGE_PROMPT = 13 * 256;
    /** The best C++ CPU engine on a Zen 4 sibling, 2 threads, BF16 (the issue's reference figures). */
    private static final double CPP_DECODE = 32.5;
    private static final double CPP_DECODE_INT8 = 48.5;
    private static final double CPP_PREFILL_512 = 297;
    private static final double CPP_PREFILL_IMAGE = 150;
    /** PyTorch 1.13 (oneDNN), 2 threads, from the issue: used when PyTorch cannot be run here. */
    private static final String ISSUE_TORCH = "6.7-7.5 s fp32, 2.85 s bf16 (PyTorch 1.13, issue figures)";
    private static final double ISSUE_TORCH_FP32_MS = 6700;
    private static final double ISSUE_TORCH_BF16_MS = 2850;
    /**
     * Memory allowed beyond the weights and the KV pool: the JVM itself (code, metaspace, threads, GC structures),
     * the per-step buffers and {@link #HEAP_HEADROOM} of heap beyond the KV pool.
     */
    private static final long MEMORY_OVERHEAD = 512L << 20;
    private static final long HEAP_HEADROOM = 256L << 20;

    private final Path dir;
    private final int threads;
    private final MachineProbe probe;
    private int met;
    private int missed;

    private Bench(Path dir) {
        this.dir = dir;
        this.threads = ComputePool.shared().threads();
        this.probe = new MachineProbe(threads);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: bench <model-dir>");
            System.exit(2);
        }
        new Bench(Path.of(args[0])).run();
    }

    private void run() throws Exception {
        System.out.printf(Locale.ROOT, "model: %s, threads: %d, vector width: %d floats%nfast path GEMM: %s%n", dir,
                threads, jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length(), MatMul.fastGemm());
        long kvBytes;
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            long llmWeightBytes = llmBytesPerToken(checkpoint);
            probe.fmaPeak(50_000_000L, 1); // JIT warm-up
            probe.readBandwidth(256L << 20, 3, 4); // and of the read loop, or the burst figure times uncompiled code
            Measurement fma = probe.fmaPeak(600_000_000L, 5);
            Measurement burst = probe.readBandwidth(Math.max(1L << 30, llmWeightBytes), 5);
            double bf16Peak = bf16Peak(fma.best());
            line("machine fp32 FMA peak", fma.describe(1e9, "GFLOP/s"), "");
            line("machine memory read bandwidth, burst", burst.describe(1e9, "GB/s"), "one pass over a weight-sized buffer, two sequential streams per thread");
            line("machine BF16 dot-product peak", String.format(Locale.ROOT, "%.1f GFLOP/s", bf16Peak / 1e9),
                    bf16Peak > fma.best() ? "2 x FMA peak: vdpbf16ps does two products per fp32 lane" : "no AVX512_BF16: the FMA peak");

            section("vision: InternViT-300M + projector, one 448 px tile");
            double[] torch = torchVitMs();
            benchVision(checkpoint, Precision.EXACT, fma.best(), "fp32 FMA peak", torch[0], "PyTorch fp32");
            benchVision(checkpoint, Precision.FAST, bf16Peak, "BF16 peak", torch[1], "PyTorch bf16");

            section("prefill (language model), prompt in chunks of 512");
            Qwen2Model fast = Qwen2Model.load(checkpoint, ComputePool.shared(), Precision.FAST);
            Qwen2Model exact = Qwen2Model.load(checkpoint, ComputePool.shared(), Precision.EXACT);
            double p512 = benchPrefill(fast, 512, bf16Peak, "BF16 peak", CPP_PREFILL_512);
            double pImage = benchPrefill(fast, IMAGE_PROMPT, bf16Peak, "BF16 peak", CPP_PREFILL_IMAGE);
            target("prefill rate at " + IMAGE_PROMPT + " / at 512 (fast)", String.format(Locale.ROOT, "%.2f", pImage / p512),
                    pImage >= 0.5 * p512, ">= 0.50 (attention must not dominate)");
            benchPrefill(exact, 512, fma.best(), "fp32 FMA peak", 0);

            section("decode (language model), 64-token prompts, " + DECODE_STEPS + " steps, weights read once per step");
            warmUpDecode(exact);
            warmUpDecode(fast);
            List<DecodeRuns> decode = List.of(benchDecode(exact, 1, llmWeightBytes), benchDecode(exact, 16, llmWeightBytes),
                    benchDecode(fast, 1, llmWeightBytes), benchDecode(fast, 4, llmWeightBytes),
                    benchDecode(fast, 16, llmWeightBytes));
            Measurement bandwidth = new Measurement();
            decode.forEach(d -> d.besideReads().values().forEach(bandwidth::add));
            // The bandwidth target is judged on batch-1 decode with BF16 activations: the C++ engine's BF16 figure
            // is decode of that kind. The exact path's share is printed beside it.
            DecodeRuns judged = decode.get(2);
            for (DecodeRuns d : decode) {
                decodeLine(d, llmWeightBytes, bandwidth.best(), d == judged);
            }
            line("  (reference)", String.format(Locale.ROOT, "C++ engine on Zen 4: %.1f tok/s BF16, %.1f int8", CPP_DECODE,
                    CPP_DECODE_INT8), "");
            double exact1 = decode.get(0).rate().best();
            double exact16 = decode.get(1).rate().best();
            double fast1 = decode.get(2).rate().best();
            double fast16 = decode.get(4).rate().best();
            target("decode batch 16 / batch 1, fast", String.format(Locale.ROOT, "%.2fx aggregate", fast16 / fast1),
                    fast16 >= 5 * fast1, ">= 5x");
            line("decode batch 16 / batch 1, exact", String.format(Locale.ROOT, "%.2fx aggregate", exact16 / exact1),
                    "(row-dot kernel at every batch size: a row's bits do not depend on its batch)");
            double afterImage = runDecode(fast, 4, IMAGE_PROMPT, DECODE_STEPS, new Random(4));
            line("decode batch 4 at " + IMAGE_PROMPT + " tokens, fast", String.format(Locale.ROOT, "%.1f tok/s", afterImage),
                    "after an image's prompt each: attention reads a long KV cache every step");
            line("machine memory read bandwidth", bandwidth.describe(1e9, "GB/s"),
                    "sustained: " + DECODE_STEPS + " passes right before each decode run (the decode limit)");
            weightPages(checkpoint);

            section("batch invariance (exact path)");
            invariance(exact);
            kvBytes = (long) MemoryCheck.blocks() * KvBlockPool.bytesPerBlock(exact.config(), MemoryCheck.BLOCK);
        }
        section("memory");
        benchMemory(kvBytes);
        System.out.printf(Locale.ROOT, "%n%d targets met, %d missed%n", met, missed);
    }

    /**
     * How much of the mapped weights are on 2 MB pages: the weights stream measurably slower through 4 KB pages, which
     * a file keeps while the page cache holds it in small folios (see {@link HugePages}).
     */
    private static void weightPages(Checkpoint checkpoint) {
        long resident = 0;
        long huge = 0;
        for (Path file : checkpoint.weights().files()) {
            HugePages.Residency r = HugePages.residency(file);
            resident += r.residentBytes();
            huge += r.onHugePagesBytes();
        }
        HugePages.Residency all = new HugePages.Residency(resident, huge);
        line("weights on 2 MB pages", String.format(Locale.ROOT, "%.0f%% of %.2f GB resident", 100 * all.hugeShare(),
                resident / 1e9), "4 KB pages where the page cache holds small folios");
    }

    // ---- output ----

    private static void section(String title) {
        System.out.printf(Locale.ROOT, "%n[%s]%n", title);
    }

    private static void line(String what, String figure, String note) {
        System.out.printf(Locale.ROOT, "%-38s %-46s %s%n", what, figure, note);
    }

    private void target(String what, String figure, boolean ok, String target) {
        line(what, figure, "target " + target + ": " + (ok ? "met" : "MISSED"));
        if (ok) {
            met++;
        } else {
            missed++;
        }
    }

    private static String fraction(double value, double limit, String limitName) {
        return String.format(Locale.ROOT, "%.0f%% of %s", 100 * value / limit, limitName);
    }

    // ---- vision ----

    private void benchVision(Checkpoint checkpoint, Precision precision, double peak, String peakName,
                             double torchMs, String torchName) {
        VisionEncoder vision = VisionEncoder.load(checkpoint, ComputePool.shared(), precision);
        int size = checkpoint.config().vision().imageSize();
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
        double ms = 1000 / m.best();
        String figure = String.format(Locale.ROOT, "%.0f ms (best of %d, spread %.0f%%), %s", ms, RUNS, 100 * m.spread(),
                fraction(visionFlopsPerTile(checkpoint) * m.best(), peak, peakName));
        target("ViT ms per tile, " + precision.name().toLowerCase(Locale.ROOT), figure, ms <= torchMs,
                String.format(Locale.ROOT, "<= %s %.0f ms", torchName, torchMs));
    }

    /**
     * PyTorch's ms per tile, fp32 and bf16, for the equivalent module in {@code vit_torch.py}, run by the Python of
     * {@code .tools/torch-venv} (made by {@code scripts/bench-torch-venv.sh}) or {@code MESH_TORCH_PYTHON}; the issue's
     * figures when neither runs.
     */
    private double[] torchVitMs() throws IOException, InterruptedException {
        String configured = System.getenv("MESH_TORCH_PYTHON");
        Path python = configured != null ? Path.of(configured)
                : Path.of(System.getProperty("mesh.home", "."), ".tools", "torch-venv", "bin", "python");
        if (Files.isExecutable(python)) {
            Path script = Files.createTempFile("vit_torch", ".py");
            try (InputStream in = Bench.class.getResourceAsStream("vit_torch.py")) {
                Files.copy(in, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            Process p = new ProcessBuilder(python.toString(), script.toString(), Integer.toString(threads),
                    Integer.toString(RUNS)).redirectErrorStream(true).start();
            double fp32 = -1;
            double bf16 = -1;
            String version = "";
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    String[] f = l.trim().split("\\s+");
                    if (f[0].equals("torch")) {
                        version = f[1];
                    } else if (f[0].equals("fp32") && f.length == 3) {
                        fp32 = Double.parseDouble(f[1]);
                        line("PyTorch " + version + " fp32, same module", String.format(Locale.ROOT,
                                "%.0f ms (best of %d, spread %.0f%%)", fp32, RUNS, 100 * Double.parseDouble(f[2])), "");
                    } else if (f[0].equals("bf16") && f.length == 3) {
                        bf16 = Double.parseDouble(f[1]);
                        line("PyTorch " + version + " bf16, same module", String.format(Locale.ROOT,
                                "%.0f ms (best of %d, spread %.0f%%)", bf16, RUNS, 100 * Double.parseDouble(f[2])), "");
                    }
                }
            }
            boolean done = p.waitFor(10, TimeUnit.MINUTES);
            Files.deleteIfExists(script);
            if (done && p.exitValue() == 0 && fp32 > 0 && bf16 > 0) {
                return new double[]{fp32, bf16};
            }
        }
        line("PyTorch reference", ISSUE_TORCH, "(PyTorch could not be run here: " + python + ")");
        return new double[]{ISSUE_TORCH_FP32_MS, ISSUE_TORCH_BF16_MS};
    }

    // ---- language model ----

    /** Best prefill rate in tokens/s; a target line when {@code target > 0}. */
    private double benchPrefill(Qwen2Model llm, int tokens, double peak, String peakName, double target)
            throws KvCacheFullException {
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
        // Every position goes through the layers; only the last through lm_head. Causal attention: q·Kᵀ and P·V
        // over tokens/2 keys on average.
        double h = c.hiddenSize();
        double flopsPerToken = 2.0 * layerParams(c) * c.numLayers() + 2.0 * h * c.vocabSize() / tokens
                + 2.0 * 2 * c.numLayers() * c.numHeads() * c.headDim() * (tokens / 2.0);
        String what = "prefill at " + tokens + ", " + llm.precision().name().toLowerCase(Locale.ROOT);
        String figure = m.describe(1, "tok/s") + ", " + fraction(flopsPerToken * m.best(), peak, peakName);
        if (target > 0) {
            target(what, figure, m.best() >= target, String.format(Locale.ROOT, ">= %.0f tok/s (C++ engine)", target));
        } else {
            line(what, figure, "");
        }
        return m.best();
    }

    /** Enough decode steps that every kernel the measured runs take is compiled. */
    private static void warmUpDecode(Qwen2Model llm) throws KvCacheFullException {
        for (int batch : new int[]{1, 4, 16}) {
            runDecode(llm, batch, 64, 24, new Random(99));
        }
    }

    /** One decode configuration's runs, and the sustained reads measured right before each of them. */
    private record DecodeRuns(String what, int batch, Measurement rate, Measurement besideReads) {
    }

    /**
     * Decode runs of {@code batch} sequences, each right after a read of the weights' size repeated once per step
     * (the limit is probed as long as the run reads: the neighbours' load changes by the second).
     */
    private DecodeRuns benchDecode(Qwen2Model llm, int batch, long bytesPerStep) throws Exception {
        Random random = new Random(batch);
        Measurement rate = new Measurement();
        Measurement reads = new Measurement();
        for (int r = 0; r < RUNS + 1; r++) {
            reads.add(probe.readBandwidth(bytesPerStep, 1, DECODE_STEPS).best());
            rate.add(runDecode(llm, batch, 64, DECODE_STEPS, random));
        }
        return new DecodeRuns("decode batch " + batch + ", " + llm.precision().name().toLowerCase(Locale.ROOT), batch,
                rate, reads);
    }

    /**
     * A decode line: tokens/s, the weight bytes read per second, and that as a share of the best sustained read of
     * the whole decode section (the strict limit) and of the reads beside these runs. A target line for
     * {@code bandwidthTarget}, judged on the strict limit.
     */
    private void decodeLine(DecodeRuns d, long bytesPerStep, double limit, boolean bandwidthTarget) {
        double bytesPerSecond = bytesPerStep * d.rate().best() / d.batch();
        String figure = d.rate().describe(1, "tok/s") + String.format(Locale.ROOT, ", %.1f GB/s", bytesPerSecond / 1e9);
        String share = fraction(bytesPerSecond, limit, "read bandwidth") + " ("
                + fraction(bytesPerSecond, d.besideReads().best(), "reads beside these runs") + ")";
        if (bandwidthTarget) {
            target(d.what(), figure, bytesPerSecond >= 0.85 * limit, ">= 85% of read bandwidth, is " + share);
        } else {
            line(d.what(), figure, share);
        }
    }

    /**
     * Tokens/s over {@code steps} decode steps of {@code batch} sequences after {@code prompt}-token prefills, each
     * token chosen as the service chooses it (the production sampler, greedy, no logprobs).
     */
    private static double runDecode(Qwen2Model llm, int batch, int prompt, int steps, Random random)
            throws KvCacheFullException {
        LlmConfig c = llm.config();
        KvBlockPool cache = llm.newKvCache(16, batch * ((prompt + steps) / 16 + 2));
        List<KvSequence> seqs = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            KvSequence s = cache.newSequence();
            llm.prefill(s, random.ints(prompt, 0, c.vocabSize()).toArray(), null, 512);
            seqs.add(s);
        }
        int[] tokens = random.ints(batch, 0, c.vocabSize()).toArray();
        Sampler[] samplers = new Sampler[batch];
        Arrays.setAll(samplers, b -> new Sampler(SamplingParams.builder().temperature(0).build()));
        long t = System.nanoTime();
        for (int step = 0; step < steps; step++) {
            List<float[]> logits = llm.decode(seqs, tokens);
            for (int b = 0; b < batch; b++) {
                tokens[b] = samplers[b].sample(logits.get(b), tokens, 0).tokenId(); // no penalty: no history
            }
        }
        long elapsed = System.nanoTime() - t;
        seqs.forEach(KvSequence::release);
        return (double) batch * steps * 1e9 / elapsed;
    }

    /**
     * A decode row's logits alone and in a batch of 16, and a prompt's last position prefilled in one chunk of 96
     * (packed GEMM) and in chunks of 16 (row-dot kernel): equal bits or not, as facts, not targets.
     */
    private static void invariance(Qwen2Model llm) throws KvCacheFullException {
        LlmConfig c = llm.config();
        Random random = new Random(5);
        int[] prompt = random.ints(96, 0, c.vocabSize()).toArray();
        KvBlockPool cache = llm.newKvCache(16, 40 * 8);
        List<KvSequence> batch = new ArrayList<>();
        for (int b = 0; b < 16; b++) {
            KvSequence s = cache.newSequence();
            llm.prefill(s, b == 0 ? prompt : random.ints(96, 0, c.vocabSize()).toArray(), null, 512);
            batch.add(s);
        }
        KvSequence alone = cache.newSequence();
        llm.prefill(alone, prompt, null, 512);
        int[] next = new int[16];
        float[] inBatch = llm.decode(batch, next).getFirst();
        float[] single = llm.decode(List.of(alone), new int[]{0}).getFirst();
        line("decode row alone vs in a batch of 16", describeDifference(single, inBatch), "");
        KvSequence chunked = cache.newSequence();
        KvSequence whole = cache.newSequence();
        float[] small = llm.prefill(chunked, prompt, null, 16);
        float[] large = llm.prefill(whole, prompt, null, 96);
        line("prefill chunks of 16 vs one chunk of 96", describeDifference(small, large),
                "(two kernels, two summation orders: see MatMul)");
    }

    private static String describeDifference(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs((double) a[i] - b[i]));
        }
        return worst == 0 ? "bit-identical logits" : String.format(Locale.ROOT, "logits differ by up to %.2g", worst);
    }

    // ---- memory ----

    /** Peak RSS of {@link MemoryCheck} in a JVM of its own, against weights + KV pool + the stated overhead. */
    private void benchMemory(long kvBytes) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        long heap = kvBytes + HEAP_HEADROOM; // the KV pool lives on the heap; the rest is per-step buffers
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(EngineJvm.flags());
        cmd.addAll(List.of("-Xmx" + (heap >> 20) + "m",
                "-cp", System.getProperty("java.class.path"), MemoryCheck.class.getName(), dir.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String result = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l; (l = r.readLine()) != null; ) {
                if (l.startsWith("weights=")) {
                    result = l;
                }
            }
        }
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0 || result == null) {
            target("peak RSS, 16 sequences of 4096 tokens", "the check did not finish", false, "");
            return;
        }
        long weights = 0, kv = 0, rss = 0;
        for (String kvPair : result.split(" ")) {
            String[] f = kvPair.split("=");
            long v = Long.parseLong(f[1]);
            switch (f[0]) {
                case "weights" -> weights = v;
                case "kv" -> kv = v;
                case "peak_rss" -> rss = v;
                default -> {
                }
            }
        }
        double mib = 1 << 20;
        target("peak RSS, 16 sequences of 4096 tokens", String.format(Locale.ROOT,
                        "%.0f MiB (weights %.0f + KV %.0f + %.0f MiB)", rss / mib, weights / mib, kv / mib,
                        (rss - weights - kv) / mib), rss <= weights + kv + MEMORY_OVERHEAD,
                String.format(Locale.ROOT, "<= weights + KV + %d MiB; weights memory-mapped", MEMORY_OVERHEAD >> 20));
    }

    // ---- model arithmetic ----

    private static double bf16Peak(double fmaPeak) {
        return MatMul.fastGemm().contains("AVX512_BF16") ? 2 * fmaPeak : fmaPeak;
    }

    /** Bytes of language-model weights one decode step reads: every layer, the final norm and the lm_head. */
    static long llmBytesPerToken(Checkpoint checkpoint) {
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

    /** Multiply-adds per token in one decoder layer's matrix products. */
    private static double layerParams(LlmConfig c) {
        double h = c.hiddenSize();
        return h * c.numHeads() * c.headDim() * 2 + 2 * h * c.kvDim() + 3 * h * c.intermediateSize();
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
}
