package dev.internvl.mesh.tools.bench;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.engine.EngineSettings;
import dev.internvl.mesh.engine.GenerationEngine;
import dev.internvl.mesh.engine.GenerationListener;
import dev.internvl.mesh.engine.GenerationRequest;
import dev.internvl.mesh.llm.LlmServiceMain;
import dev.internvl.mesh.llm.shard.LocalShards;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.proto.v1.GenerateRequest;
import dev.internvl.mesh.proto.v1.GenerateResponse;
import dev.internvl.mesh.proto.v1.LlmServiceGrpc;
import dev.internvl.mesh.proto.v1.PromptSegment;
import dev.internvl.mesh.proto.v1.SamplingParams;
import dev.internvl.mesh.proto.v1.TokenIds;
import dev.internvl.mesh.sampling.FinishReason;
import dev.internvl.mesh.serving.Settings;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * {@code make bench-service}: decode throughput through the llm-service over gRPC with 1, 4 and 16 concurrent
 * requests, against the embedded engine decoding one request, in one run on one checkpoint.
 * {@code make bench-shards} ({@code --shards}): 16 concurrent requests through the tier with its layers in one
 * shard process and in four, with the hidden-state bytes on the wire per token.
 */
public final class ServiceBench {
    private static final int PROMPT = 32;
    private static final int TOKENS = 48;

    public static void main(String[] args) throws Exception {
        boolean shards = args.length == 2 && args[0].equals("--shards");
        if (args.length != 1 && !shards) {
            System.err.println("usage: service-bench [--shards] <model-dir>");
            System.exit(2);
        }
        Path dir = Path.of(args[args.length - 1]);
        if (shards) {
            shardedComparison(dir);
            return;
        }
        // The JVM compiles the decode path while the first figures run, so each configuration is run several times
        // and reported at its best; the embedded engine runs before and after the service so it is warm too.
        double embedded = embeddedBatchOne(dir);
        double[] service = new double[3];
        int[] concurrency = {1, 4, 16};
        try (LlmServiceMain.Running running = LlmServiceMain.start(new Settings(Map.of(
                "MODEL_DIR", dir.toString(), "LLM_GRPC_PORT", "0", "LLM_METRICS_PORT", "0", "LLM_KV_CACHE_BYTES", "512m")))) {
            ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", running.grpc().port()).usePlaintext().build();
            try {
                LlmServiceGrpc.LlmServiceBlockingStub stub = LlmServiceGrpc.newBlockingStub(channel);
                run(stub, 1); // warm-up
                for (int i = 0; i < concurrency.length; i++) {
                    for (int r = 0; r < 2; r++) {
                        service[i] = Math.max(service[i], run(stub, concurrency[i]));
                    }
                }
            } finally {
                channel.shutdownNow();
            }
        }
        embedded = Math.max(embedded, embeddedBatchOne(dir));
        System.out.printf(Locale.ROOT, "%-44s %8.1f tokens/s%n", "embedded engine, 1 request", embedded);
        for (int i = 0; i < concurrency.length; i++) {
            System.out.printf(Locale.ROOT, "%-44s %8.1f tokens/s  (%.2fx the embedded engine at 1)%n",
                    "llm-service over gRPC, " + concurrency[i] + " concurrent", service[i], service[i] / embedded);
        }
    }

    /** 16 concurrent requests through the tier with its layers on 1 and on 4 shard processes (BF16 on the wire). */
    private static void shardedComparison(Path dir) throws Exception {
        Path logs = java.nio.file.Files.createTempDirectory("bench-shards");
        for (int count : new int[]{1, 4}) {
            try (LocalShards shards = LocalShards.start(dir, count, Map.of("MESH_PRECISION", "exact", "LLM_KV_CACHE_BYTES", "512m"), logs);
                 LlmServiceMain.Running running = LlmServiceMain.start(new Settings(Map.of(
                         "MODEL_DIR", dir.toString(), "LLM_GRPC_PORT", "0", "LLM_METRICS_PORT", "0",
                         "LLM_SHARD_ADDRS", String.join(",", shards.addresses()))))) {
                ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", running.grpc().port()).usePlaintext().build();
                try {
                    LlmServiceGrpc.LlmServiceBlockingStub stub = LlmServiceGrpc.newBlockingStub(channel);
                    run(stub, 4); // warm-up
                    Measurement rate = new Measurement();
                    for (int r = 0; r < 3; r++) {
                        rate.add(run(stub, 16));
                    }
                    String metrics = scrape(running.metrics().port());
                    double wire = metric(metrics, "llm_shard_wire_bytes_total{direction=\"sent\"}")
                            + metric(metrics, "llm_shard_wire_bytes_total{direction=\"received\"}");
                    double positions = metric(metrics, "llm_model_tokens_total");
                    System.out.printf(Locale.ROOT, "%-44s %s  wire %.0f bytes per token position%n",
                            "layers on " + count + " shard process" + (count > 1 ? "es" : "") + ", 16 concurrent",
                            rate.describe(1, "tokens/s"), wire / positions);
                } finally {
                    channel.shutdownNow();
                }
            }
        }
    }

    private static String scrape(int port) throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + port + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    private static double metric(String text, String name) {
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1).trim());
            }
        }
        throw new IllegalStateException(name + " not in the metrics");
    }

    /** Aggregate generated tokens per second with {@code concurrent} streams of greedy decoding. */
    private static double run(LlmServiceGrpc.LlmServiceBlockingStub stub, int concurrent) throws Exception {
        Random random = new Random(concurrent);
        ExecutorService pool = Executors.newFixedThreadPool(concurrent);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            long start = System.nanoTime();
            for (int c = 0; c < concurrent; c++) {
                List<Integer> prompt = random.ints(PROMPT, 0, 150_000).boxed().toList();
                done.add(pool.submit(() -> {
                    int tokens = 0;
                    GenerateRequest request = GenerateRequest.newBuilder()
                            .addSegments(PromptSegment.newBuilder().setTokens(TokenIds.newBuilder().addAllIds(prompt)))
                            .setSampling(SamplingParams.newBuilder().setMaxNewTokens(TOKENS).setTemperature(0)).build();
                    for (Iterator<GenerateResponse> it = stub.withDeadlineAfter(10, TimeUnit.MINUTES).generate(request); it.hasNext(); ) {
                        tokens += it.next().getTokensCount();
                    }
                    return tokens;
                }));
            }
            int total = 0;
            for (Future<Integer> f : done) {
                total += f.get();
            }
            return total * 1e9 / (System.nanoTime() - start);
        } finally {
            pool.shutdownNow();
        }
    }

    private static double embeddedBatchOne(Path dir) throws Exception {
        try (Checkpoint checkpoint = Checkpoint.open(dir); ModelTokenizer tokenizer = ModelTokenizer.load(dir)) {
            Qwen2Model model = Qwen2Model.load(checkpoint);
            KvBlockPool cache = KvBlockPool.withBudget(checkpoint.config().llm(), 16, 256L << 20);
            try (GenerationEngine engine = new GenerationEngine(model, cache, EngineSettings.defaults(),
                    () -> tokenizer.streamDecoder(true), new int[0])) {
                double best = 0;
                for (int r = 0; r < 3; r++) {
                    int[] prompt = new Random(r).ints(PROMPT, 0, 150_000).toArray();
                    CompletableFuture<Integer> done = new CompletableFuture<>();
                    int[] count = new int[1];
                    long start = System.nanoTime();
                    engine.submit(GenerationRequest.text("bench", prompt, dev.internvl.mesh.sampling.SamplingParams.builder()
                            .temperature(0).maxNewTokens(TOKENS).build()), new GenerationListener() {
                        @Override
                        public void onToken(GeneratedToken token) {
                            count[0]++;
                        }

                        @Override
                        public void onFinished(FinishReason reason, Usage usage) {
                            done.complete(count[0]);
                        }

                        @Override
                        public void onFailed(Throwable error) {
                            done.completeExceptionally(error);
                        }
                    });
                    int tokens = done.get();
                    best = Math.max(best, tokens * 1e9 / (System.nanoTime() - start));
                }
                return best;
            }
        }
    }
}
