package dev.internvl.mesh.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.FinishReason;
import dev.internvl.mesh.proto.v1.GenerateRequest;
import dev.internvl.mesh.proto.v1.GenerateResponse;
import dev.internvl.mesh.proto.v1.ImageInput;
import dev.internvl.mesh.proto.v1.LlmServiceGrpc;
import dev.internvl.mesh.proto.v1.PromptSegment;
import dev.internvl.mesh.proto.v1.SamplingParams;
import dev.internvl.mesh.proto.v1.TokenIds;
import dev.internvl.mesh.serving.Settings;
import dev.internvl.mesh.serving.WireTensors;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The language tier over a real loopback socket, on the golden tiny checkpoint. */
class LlmServiceTest {
    static final Path GOLDEN = Path.of("../testdata/golden");
    static LlmServiceMain.Running service;
    static ManagedChannel channel;
    static LlmServiceGrpc.LlmServiceBlockingStub stub;
    static JsonNode manifest;

    @BeforeAll
    static void start() throws IOException {
        service = LlmServiceMain.start(new Settings(Map.of(
                "MODEL_DIR", GOLDEN.resolve("checkpoints/tiny-300m-style").toString(),
                "TOKENIZER_DIR", GOLDEN.resolve("tokenizer/internvl2_5-qwen2").toString(),
                "LLM_GRPC_PORT", "0", "LLM_METRICS_PORT", "0",
                "VISION_ADDR", "127.0.0.1:1", // nothing listens: the vision tier is down
                "LLM_VISION_TIMEOUT", "5s",
                "LLM_KV_CACHE_BYTES", "2m")));
        channel = NettyChannelBuilder.forAddress("127.0.0.1", service.grpc().port()).usePlaintext().build();
        stub = LlmServiceGrpc.newBlockingStub(channel);
        manifest = new ObjectMapper().readTree(GOLDEN.resolve("manifest.json").toFile());
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow();
        service.close();
    }

    static JsonNode find(String list, String id) {
        for (JsonNode c : manifest.get(list)) {
            if (c.get("id").asText().equals(id)) {
                return c;
            }
        }
        throw new AssertionError(id);
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    static PromptSegment tokens(int... ids) {
        return PromptSegment.newBuilder().setTokens(TokenIds.newBuilder().addAllIds(Arrays.stream(ids).boxed().toList())).build();
    }

    static SamplingParams greedy(int n) {
        return SamplingParams.newBuilder().setMaxNewTokens(n).setTemperature(0).build();
    }

    record Result(int[] ids, GenerateResponse last) {
    }

    static Result run(GenerateRequest request) {
        List<Integer> ids = new ArrayList<>();
        GenerateResponse last = null;
        for (Iterator<GenerateResponse> it = stub.withDeadlineAfter(60, TimeUnit.SECONDS).generate(request); it.hasNext(); ) {
            last = it.next();
            last.getTokensList().forEach(t -> ids.add(t.getTokenId()));
        }
        return new Result(ids.stream().mapToInt(Integer::intValue).toArray(), last);
    }

    static GenerateRequest text(int[] ids, SamplingParams sampling) {
        return GenerateRequest.newBuilder().setRequestId("t").addSegments(tokens(ids)).setSampling(sampling).build();
    }

    @Test
    void textPromptStreamsTheGoldenGreedyTokens() {
        JsonNode c = find("llm_cases", "tiny-300m-style/llm_chat_short");
        Result r = run(text(ints(c.get("input_ids")), greedy(16)));
        assertArrayEquals(ints(c.get("greedy_ids")), r.ids());
        assertEquals(FinishReason.FINISH_REASON_LENGTH, r.last().getFinishReason());
        assertEquals(26, r.last().getUsage().getPromptTokens());
        assertEquals(16, r.last().getUsage().getCompletionTokens());
    }

    /** With {@code logprobs}, each token's log-softmax, as the reference computes it; without, none (not computed). */
    @Test
    void logprobsComeOnRequestAndMatchTheGolden() throws IOException {
        JsonNode c = find("llm_cases", "tiny-300m-style/llm_chat_short");
        float[] chosen;
        float[] logsumexp;
        try (SafetensorsFile f = SafetensorsFile.open(GOLDEN.resolve(c.get("file").asText()))) {
            chosen = f.tensor("greedy_chosen_logit").toFloatArray();
            logsumexp = f.tensor("greedy_logsumexp").toFloatArray();
        }
        List<Float> logprobs = new ArrayList<>();
        SamplingParams withLogprobs = greedy(8).toBuilder().setLogprobs(true).build();
        stub.withDeadlineAfter(60, TimeUnit.SECONDS).generate(text(ints(c.get("input_ids")), withLogprobs))
                .forEachRemaining(r -> r.getTokensList().forEach(t -> logprobs.add(t.getLogprob())));
        assertEquals(8, logprobs.size());
        for (int i = 0; i < logprobs.size(); i++) {
            assertEquals(chosen[i] - logsumexp[i], logprobs.get(i), 4e-4, "token " + i); // logits + logsumexp atol
        }
        run(text(ints(c.get("input_ids")), greedy(4))).last().getTokensList()
                .forEach(t -> assertEquals(0f, t.getLogprob(), "not asked for: not set"));
    }

    /** Embeddings computed by the caller (here: the golden vision output) spliced where the image segment stands. */
    @Test
    void precomputedImageEmbeddingsGiveTheMultimodalGolden() throws IOException {
        JsonNode c = find("mm_cases", "tiny-300m-style/mm_camera_max12");
        JsonNode compact = c.get("input_ids_compact");
        int[] prefix = ints(compact.get("prefix"));
        int[] suffix = ints(compact.get("suffix"));
        float[] embeds;
        try (SafetensorsFile f = SafetensorsFile.open(GOLDEN.resolve(find("vision_cases", c.get("vision_case").asText()).get("file").asText()))) {
            embeds = f.tensor("embeds").toFloatArray();
        }
        GenerateRequest request = GenerateRequest.newBuilder().setRequestId("mm")
                // <img> and </img> come with the image segment
                .addSegments(tokens(Arrays.copyOf(prefix, prefix.length - 1)))
                .addSegments(PromptSegment.newBuilder().setImage(ImageInput.newBuilder().setEmbeddings(
                        WireTensors.encode(embeds, 0, embeds.length, new long[]{embeds.length / 64, 64}, DType.DTYPE_F32))))
                .addSegments(tokens(Arrays.copyOfRange(suffix, 1, suffix.length)))
                .setSampling(greedy(16)).build();
        Result r = run(request);
        assertArrayEquals(ints(c.get("greedy_ids")), r.ids());
        assertEquals(c.get("seq_len").asInt(), r.last().getUsage().getPromptTokens());
    }

    @Test
    void concurrentRequestsEachGetTheirOwnGreedyOutput() throws Exception {
        Random random = new Random(11);
        int n = 16;
        int[][] prompts = new int[n][];
        int[][] alone = new int[n][];
        for (int i = 0; i < n; i++) {
            prompts[i] = random.ints(10 + random.nextInt(60), 0, 151_000).toArray();
            alone[i] = run(text(prompts[i], greedy(10))).ids();
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Result>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                results.add(pool.submit(() -> run(text(prompts[k], greedy(10)))));
            }
            for (int i = 0; i < n; i++) {
                assertArrayEquals(alone[i], results.get(i).get(60, TimeUnit.SECONDS).ids(), "request " + i);
            }
        } finally {
            pool.shutdownNow();
        }
        assertAllBlocksFree();
    }

    @Test
    void cancellingMidStreamFreesTheRequestsBlocks() throws Exception {
        CountDownLatch tokens = new CountDownLatch(3);
        CompletableFuture<Throwable> ended = new CompletableFuture<>();
        var call = io.grpc.Context.current().withCancellation();
        call.run(() -> LlmServiceGrpc.newStub(channel).generate(text(new int[]{1, 2, 3, 4, 5}, greedy(100_000)), new StreamObserver<>() {
            @Override
            public void onNext(GenerateResponse value) {
                tokens.countDown();
            }

            @Override
            public void onError(Throwable t) {
                ended.complete(t);
            }

            @Override
            public void onCompleted() {
                ended.complete(null);
            }
        }));
        assertTrue(tokens.await(30, TimeUnit.SECONDS));
        call.cancel(null);
        assertEquals(Status.Code.CANCELLED, Status.fromThrowable(ended.get(10, TimeUnit.SECONDS)).getCode());
        assertAllBlocksFree();
    }

    /** 2 MiB of cache holds 256 blocks of 16 positions here; these requests need 20% more at once. */
    @Test
    void aCacheSmallerThanTheLoadQueuesRequests() throws Exception {
        Random random = new Random(12);
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            List<Future<Result>> results = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                int[] prompt = random.ints(400, 0, 151_000).toArray();
                results.add(pool.submit(() -> run(text(prompt, greedy(8)))));
            }
            for (Future<Result> f : results) {
                assertEquals(8, f.get(120, TimeUnit.SECONDS).ids().length);
            }
        } finally {
            pool.shutdownNow();
        }
        assertAllBlocksFree();
    }

    @Test
    void badRequestsGetInvalidArgumentWithAReason() {
        assertStatus(Status.Code.INVALID_ARGUMENT, "the prompt has no segments",
                GenerateRequest.newBuilder().setSampling(greedy(1)).build());
        assertStatus(Status.Code.INVALID_ARGUMENT, "segment 0: token id 999999 is outside the vocabulary of 151674",
                text(new int[]{1, 999_999}, greedy(1)));
        assertStatus(Status.Code.INVALID_ARGUMENT, "segment 0: token id 151667 is an image token; images must come as image segments",
                text(new int[]{151667}, greedy(1)));
        assertStatus(Status.Code.INVALID_ARGUMENT, "temperature must be between 0 and 2",
                text(new int[]{1}, SamplingParams.newBuilder().setTemperature(5).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "the prompt has 40000 tokens; the model's context is 32768 tokens",
                text(new int[40_000], greedy(1)));
        assertStatus(Status.Code.INVALID_ARGUMENT, "more than the KV cache holds",
                text(new int[5000], greedy(1)));
    }

    @Test
    void anImageWithTheVisionTierDownFailsFastAsUnavailable() {
        long start = System.nanoTime();
        GenerateRequest request = GenerateRequest.newBuilder()
                .addSegments(tokens(1, 2))
                .addSegments(PromptSegment.newBuilder().setImage(ImageInput.newBuilder().setImage(com.google.protobuf.ByteString.copyFrom(new byte[]{1, 2, 3}))))
                .setSampling(greedy(1)).build();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> run(request));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("the vision tier could not encode the image of segment 1"));
        assertEquals(java.util.Optional.of("vision"), dev.internvl.mesh.serving.FailedTier.of(e), "marked as the vision tier's failure");
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "fails fast");
        // Text still works.
        assertEquals(2, run(text(new int[]{1, 2, 3}, greedy(2))).ids().length);
    }

    @Test
    void healthAndMetrics() throws Exception {
        HealthCheckResponse health = HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.newBuilder()
                .setService("internvl.mesh.v1.LlmService").build());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
        run(text(new int[]{7, 8, 9}, greedy(2)));
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + service.metrics().port() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        for (String name : new String[]{"llm_requests_total{code=\"OK\"}", "llm_time_to_first_token_seconds_bucket",
                "llm_kv_cache_usage_ratio", "llm_running_requests", "llm_waiting_requests", "llm_prefix_cache_hit_blocks_total",
                "llm_generation_tokens_total", "llm_decode_batch_size_bucket", "llm_step_duration_seconds_count"}) {
            assertTrue(metrics.contains(name), name + " in\n" + metrics.substring(0, Math.min(2000, metrics.length())));
        }
    }

    private static void assertStatus(Status.Code code, String fragment, GenerateRequest request) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> run(request));
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().contains(fragment), e.getStatus().getDescription());
    }

    private static void assertAllBlocksFree() throws InterruptedException {
        var cache = service.engine().cache();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (cache.freeBlocks() != cache.blockCount() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(cache.blockCount(), cache.freeBlocks(), "no KV block leaked");
    }
}
