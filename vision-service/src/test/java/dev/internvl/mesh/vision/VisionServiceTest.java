package dev.internvl.mesh.vision;

import com.google.protobuf.ByteString;
import dev.internvl.mesh.checkpoint.SafetensorsWriter;
import dev.internvl.mesh.image.ImageException;
import dev.internvl.mesh.image.ImageLimits;
import dev.internvl.mesh.image.ImagePreprocessor;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.EncodeRequest;
import dev.internvl.mesh.proto.v1.GetModelInfoRequest;
import dev.internvl.mesh.proto.v1.ModelInfo;
import dev.internvl.mesh.proto.v1.Tensor;
import dev.internvl.mesh.proto.v1.TileEmbedding;
import dev.internvl.mesh.proto.v1.TilingOptions;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The service over a real socket with the tiny checkpoint: golden embeddings, streaming, cache, errors, probes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VisionServiceTest {
    /** Low enough that retina.jpg (1411 x 1411) is over it, high enough for every other fixture. */
    private static final ImageLimits LIMITS = new ImageLimits(ImageLimits.DEFAULT_MAX_ENCODED_BYTES, 1_000_000);
    private static final int TOKENS = 256;
    private static final int WIDTH = 64;

    private RunningVision vision;

    @BeforeAll
    void start() {
        vision = new RunningVision(8, Duration.ofMillis(5), LIMITS, CpuVisionEngine::load);
    }

    @AfterAll
    void stop() {
        vision.close();
    }

    @Test
    void f32TilesMatchTheGoldenEmbeddingsInOrder() {
        List<Golden.VisionCase> cases = Golden.visionCases();
        assertFalse(cases.isEmpty(), "no vision case for " + Golden.CHECKPOINT);
        for (Golden.VisionCase c : cases) {
            List<TileEmbedding> tiles = vision.encode(RunningVision.request(Golden.image(c.image()), c.maxTiles(), DType.DTYPE_F32));
            assertEquals(c.numTiles(), tiles.size(), c.id());
            for (int i = 0; i < tiles.size(); i++) {
                TileEmbedding t = tiles.get(i);
                assertEquals(i, t.getTileIndex(), c.id());
                assertEquals(c.numTiles(), t.getTileCount(), c.id());
                // the tiny checkpoint has use_thumbnail: a grid of several tiles ends with the thumbnail
                assertEquals(c.numTiles() > 1 && i == c.numTiles() - 1, t.getThumbnail(), c.id() + " tile " + i);
                assertEquals(tiles.getFirst().getImageKey(), t.getImageKey());
                assertEquals(DType.DTYPE_F32, t.getEmbedding().getDtype());
                assertEquals(List.of((long) TOKENS, (long) WIDTH), t.getEmbedding().getShapeList());
                assertClose(c.id() + " tile " + i, f32(t.getEmbedding()), tileOf(c.embeds(), i), Golden.embedsTolerance(), 0);
            }
        }
    }

    @Test
    void bf16IsTheDefaultAndRoundsTheF32Values() {
        Golden.VisionCase chelsea = chelsea();
        byte[] image = Golden.image(chelsea.image());
        EncodeRequest unspecified = RunningVision.request(image, chelsea.maxTiles(), DType.DTYPE_UNSPECIFIED);
        List<TileEmbedding> bf16 = vision.encode(unspecified);
        List<TileEmbedding> f32 = vision.encode(unspecified.toBuilder().setDtype(DType.DTYPE_F32).build());
        assertEquals(chelsea.numTiles(), bf16.size());
        for (int i = 0; i < bf16.size(); i++) {
            Tensor t = bf16.get(i).getEmbedding();
            assertEquals(DType.DTYPE_BF16, t.getDtype());
            assertEquals(List.of((long) TOKENS, (long) WIDTH), t.getShapeList());
            float[] exact = f32(f32.get(i).getEmbedding());
            ByteBuffer expected = ByteBuffer.allocate(exact.length * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : exact) {
                expected.putShort(SafetensorsWriter.toBf16(v));
            }
            assertEquals(ByteString.copyFrom(expected.array()), t.getData(), "tile " + i + " is not the bf16 of its f32 values");
            // bf16 keeps 8 significant bits: rounding moves a value by at most half a unit in the last place, 2^-8 of it
            assertClose("bf16 tile " + i, bf16(t), tileOf(chelsea.embeds(), i), Golden.embedsTolerance(), Math.scalb(1.0, -8));
        }
    }

    @Test
    void aRepeatedImageIsServedFromTheCacheWithIdenticalBytes() {
        EncodeRequest request = RunningVision.request(Golden.image("rocket.jpg"), 4, DType.DTYPE_BF16);
        double misses = vision.metric("vision_cache_misses_total");
        double hits = vision.metric("vision_cache_hits_total");
        List<TileEmbedding> first = vision.encode(request);
        assertEquals(misses + 1, vision.metric("vision_cache_misses_total"));
        double batches = vision.metric("vision_batch_tiles_count");
        double cachedTiles = vision.metric("vision_tiles_total", "source=cache");

        List<TileEmbedding> second = vision.encode(request);
        assertEquals(hits + 1, vision.metric("vision_cache_hits_total"));
        assertEquals(misses + 1, vision.metric("vision_cache_misses_total"));
        assertEquals(batches, vision.metric("vision_batch_tiles_count"), "a cache hit ran the encoder");
        assertEquals(cachedTiles + first.size(), vision.metric("vision_tiles_total", "source=cache"));
        assertEquals(first, second);
        assertTrue(vision.metric("vision_cache_bytes") >= first.size() * TOKENS * WIDTH * 4.0);
    }

    @Test
    void undecodableImagesAreInvalidArgumentsWithTheDecodersMessage() {
        byte[] truncatedPng = Arrays.copyOf(Golden.image("chelsea.png"), 2000);
        for (byte[] image : List.of("not an image at all".getBytes(), truncatedPng)) {
            String expected = assertThrows(ImageException.class,
                    () -> new ImagePreprocessor(448, LIMITS).decode(image)).getMessage();
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> vision.encode(RunningVision.request(image, 6, DType.DTYPE_BF16)));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertEquals(expected, e.getStatus().getDescription());
        }
    }

    @Test
    void imagesOverTheLimitsAreInvalidArgumentsWithTheDecodersMessage() {
        byte[] retina = Golden.image("retina.jpg");
        String expected = assertThrows(ImageException.class, () -> new ImagePreprocessor(448, LIMITS).decode(retina)).getMessage();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> vision.encode(RunningVision.request(retina, 6, DType.DTYPE_BF16)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertEquals(expected, e.getStatus().getDescription());
    }

    @Test
    void badRequestFieldsAreInvalidArgumentsNamingTheField() {
        byte[] image = Golden.image("camera.png");
        double invalid = vision.metric("vision_requests_total", "method=Encode", "code=INVALID_ARGUMENT");
        assertInvalid("tiling.max_tiles", RunningVision.request(image, 0, DType.DTYPE_BF16));
        assertInvalid("tiling.max_tiles", RunningVision.request(image, 129, DType.DTYPE_BF16));
        assertInvalid("image", RunningVision.request(new byte[0], 6, DType.DTYPE_BF16));
        EncodeRequest minAboveMax = EncodeRequest.newBuilder().setImage(ByteString.copyFrom(image))
                .setTiling(TilingOptions.newBuilder().setMinTiles(5).setMaxTiles(3)).build();
        String message = assertInvalid("tiling.min_tiles", minAboveMax);
        assertTrue(message.contains("tiling.max_tiles"), message);
        assertInvalid("tiling.min_tiles", EncodeRequest.newBuilder().setImage(ByteString.copyFrom(image))
                .setTiling(TilingOptions.newBuilder().setMinTiles(0)).build());
        assertInvalid("dtype", EncodeRequest.newBuilder().setImage(ByteString.copyFrom(image)).setDtypeValue(42).build());
        assertEquals(invalid + 6, vision.metric("vision_requests_total", "method=Encode", "code=INVALID_ARGUMENT"));
    }

    @Test
    void modelInfoComesFromTheCheckpointConfig() {
        ModelInfo info = vision.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance());
        assertEquals(Golden.CHECKPOINT, info.getModelName());
        assertEquals(WIDTH, info.getLlmHiddenSize());
        assertEquals(151674, info.getVocabSize());
        assertEquals(32768, info.getMaxContextTokens());
        assertEquals(TOKENS, info.getImageTokensPerTile());
        assertEquals(448, info.getTileSize());
        assertEquals(TilingOptions.newBuilder().setMinTiles(1).setMaxTiles(12).setUseThumbnail(true).build(),
                info.getDefaultTiling());
    }

    @Test
    void healthIsServingAndReflectionListsTheService() throws Exception {
        HealthCheckResponse health = HealthGrpc.newBlockingStub(vision.channel)
                .check(HealthCheckRequest.newBuilder().setService("internvl.mesh.v1.VisionService").build());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());

        CompletableFuture<List<String>> services = new CompletableFuture<>();
        StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(vision.channel)
                .serverReflectionInfo(new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse response) {
                        services.complete(response.getListServicesResponse().getServiceList().stream()
                                .map(ServiceResponse::getName).toList());
                    }

                    @Override
                    public void onError(Throwable t) {
                        services.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        requests.onCompleted();
        assertTrue(services.get(30, TimeUnit.SECONDS).contains("internvl.mesh.v1.VisionService"), services.get().toString());
    }

    @Test
    void theMetricsEndpointServesTheVisionMetrics() {
        vision.encode(RunningVision.request(Golden.image("camera.png"), 1, DType.DTYPE_BF16));
        String text = vision.scrape();
        for (String name : List.of("vision_requests_total", "vision_tiles_total", "vision_batch_tiles",
                "vision_queue_tiles", "vision_cache_hits_total", "vision_cache_misses_total", "vision_encode_seconds",
                "vision_cache_bytes")) {
            assertTrue(text.contains("# TYPE " + name + " "), name + " missing from\n" + text);
        }
        assertTrue(vision.metric("vision_requests_total", "method=Encode", "code=OK") >= 1);
        assertTrue(vision.metric("vision_encode_seconds_count") >= 1);
    }

    private String assertInvalid(String field, EncodeRequest request) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> vision.encode(request));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        String message = e.getStatus().getDescription();
        assertTrue(message != null && message.startsWith(field), "'" + message + "' does not name " + field);
        return message;
    }

    private static Golden.VisionCase chelsea() {
        return Golden.visionCases().stream().filter(c -> c.image().equals("chelsea.png")).findFirst().orElseThrow();
    }

    static float[] tileOf(float[] embeds, int tile) {
        return Arrays.copyOfRange(embeds, tile * TOKENS * WIDTH, (tile + 1) * TOKENS * WIDTH);
    }

    static float[] f32(Tensor t) {
        float[] out = new float[t.getData().size() / 4];
        t.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    static float[] bf16(Tensor t) {
        ByteBuffer data = t.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[data.remaining() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = Float.intBitsToFloat((data.getShort() & 0xFFFF) << 16);
        }
        return out;
    }

    /** |actual - expected| <= atol + rtol * |expected| everywhere. */
    static void assertClose(String what, float[] actual, float[] expected, double atol, double rtol) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < actual.length; i++) {
            double allowed = atol + rtol * Math.abs(expected[i]);
            double diff = Math.abs((double) actual[i] - expected[i]);
            if (!(diff <= allowed)) {
                throw new AssertionError(what + ": value " + i + " is " + actual[i] + ", expected " + expected[i]
                        + " (|diff| " + diff + " > " + allowed + ")");
            }
        }
    }
}
