package dev.internvl.mesh.llm;

import dev.internvl.mesh.llm.shard.LocalShards;
import dev.internvl.mesh.proto.v1.GenerateRequest;
import dev.internvl.mesh.proto.v1.GenerateResponse;
import dev.internvl.mesh.proto.v1.LlmServiceGrpc;
import dev.internvl.mesh.serving.FailedTier;
import dev.internvl.mesh.serving.Settings;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The language tier with its layers in two shard processes: a shard killed mid-generation fails the request with
 * UNAVAILABLE at once, readiness turns false, no KV block leaks, and the tier recovers when the shard comes back,
 * with the prefix cache forgotten (the new shard never saw those keys and values).
 */
class ShardFailureTest {
    @TempDir
    Path logs;

    @Test
    void aKilledShardFailsItsRequestsAndTheTierRecoversWhenItReturns() throws Exception {
        Path checkpoint = LlmServiceTest.GOLDEN.resolve("checkpoints/tiny-6b-style");
        try (LocalShards shards = LocalShards.start(checkpoint, 2, Map.of("MESH_PRECISION", "exact", "LLM_KV_CACHE_BYTES", "4m"), logs);
             LlmServiceMain.Running service = LlmServiceMain.start(new Settings(Map.of(
                     "MODEL_DIR", checkpoint.toString(),
                     "TOKENIZER_DIR", LlmServiceTest.GOLDEN.resolve("tokenizer/internvl2_5-qwen2").toString(),
                     "LLM_GRPC_PORT", "0", "LLM_METRICS_PORT", "0", "VISION_ADDR", "127.0.0.1:1",
                     "LLM_SHARD_ADDRS", String.join(",", shards.addresses()),
                     "LLM_SHARD_WIRE_DTYPE", "f32", "LLM_SHARD_PROBE_INTERVAL", "200ms", "LLM_SHARD_TIMEOUT", "20s",
                     "LLM_PREFILL_CHUNK", "32")))) {
            ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", service.port()).usePlaintext().build();
            try {
                var stub = LlmServiceGrpc.newBlockingStub(channel);
                int[] prompt = new Random(4).ints(50, 0, 150_000).toArray();
                GenerateRequest request = LlmServiceTest.text(prompt, LlmServiceTest.greedy(8));
                int[] before = ids(stub, request);
                GenerateResponse repeat = last(stub, request);
                assertEquals(32, repeat.getUsage().getCachedPromptTokens(), "the first prefill chunk comes from the prefix cache");

                // A long generation; shard 1 dies once it is under way.
                CompletableFuture<Throwable> failure = new CompletableFuture<>();
                CountDownLatch started = new CountDownLatch(3);
                LlmServiceGrpc.newStub(channel).generate(LlmServiceTest.text(new int[]{1, 2, 3, 4, 5}, LlmServiceTest.greedy(100_000)),
                        new StreamObserver<>() {
                            @Override
                            public void onNext(GenerateResponse value) {
                                started.countDown();
                            }

                            @Override
                            public void onError(Throwable t) {
                                failure.complete(t);
                            }

                            @Override
                            public void onCompleted() {
                                failure.complete(null);
                            }
                        });
                assertTrue(started.await(30, TimeUnit.SECONDS));
                long killedAt = System.nanoTime();
                shards.kill(1);
                Throwable error = failure.get(15, TimeUnit.SECONDS);
                Status status = Status.fromThrowable(error);
                assertEquals(Optional.of(FailedTier.LLM_SHARD), FailedTier.of(error), "marked as a layer shard's failure");
                assertEquals(Status.Code.UNAVAILABLE, status.getCode(), status.toString());
                assertTrue(status.getDescription().contains("layer shard 1"), status.getDescription());
                assertTrue(System.nanoTime() - killedAt < TimeUnit.SECONDS.toNanos(10), "fails fast, no hang");

                awaitTrue(() -> health(channel) == HealthCheckResponse.ServingStatus.NOT_SERVING, "readiness turns false");
                assertTrue(metrics(service).contains("llm_layer_shards_up 0.0"));
                StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> ids(stub, request));
                assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());
                var cache = service.engine().cache();
                awaitTrue(() -> cache.freeBlocks() == cache.blockCount() && cache.cachedBlocks() == 0,
                        "every KV block back, the cached prefixes forgotten");

                shards.startShard(1);
                awaitTrue(() -> health(channel) == HealthCheckResponse.ServingStatus.SERVING, "ready again once the shard is back");
                assertTrue(metrics(service).contains("llm_layer_shards_up 1.0"));
                GenerateResponse after = last(stub, request);
                assertEquals(0, after.getUsage().getCachedPromptTokens(), "nothing reused from before the crash");
                assertArrayEquals(before, ids(stub, request), "the recovered tier computes what it did before");
                awaitTrue(() -> cache.freeBlocks() == cache.blockCount(), "no leak after recovery either");
            } finally {
                channel.shutdownNow();
            }
        }
    }

    private static int[] ids(LlmServiceGrpc.LlmServiceBlockingStub stub, GenerateRequest request) {
        java.util.List<Integer> out = new java.util.ArrayList<>();
        stub.withDeadlineAfter(60, TimeUnit.SECONDS).generate(request)
                .forEachRemaining(r -> r.getTokensList().forEach(t -> out.add(t.getTokenId())));
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static GenerateResponse last(LlmServiceGrpc.LlmServiceBlockingStub stub, GenerateRequest request) {
        GenerateResponse last = null;
        for (var it = stub.withDeadlineAfter(60, TimeUnit.SECONDS).generate(request); it.hasNext(); ) {
            last = it.next();
        }
        return last;
    }

    private static String metrics(LlmServiceMain.Running service) throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + service.metrics().port() + "/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    private static HealthCheckResponse.ServingStatus health(ManagedChannel channel) {
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.newBuilder().setService("internvl.mesh.v1.LlmService").build()).getStatus();
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting: " + what);
            }
            Thread.sleep(50);
        }
    }
}
