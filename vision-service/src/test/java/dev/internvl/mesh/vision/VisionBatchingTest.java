package dev.internvl.mesh.vision;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.image.ImageLimits;
import dev.internvl.mesh.image.ImagePreprocessor;
import dev.internvl.mesh.image.PreprocessedImage;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.EncodeRequest;
import dev.internvl.mesh.proto.v1.TileEmbedding;
import dev.internvl.mesh.proto.v1.VisionServiceGrpc;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Batching across requests, cancellation and deadlines, with the engine behind a gate so that what waits in the
 * queue while a batch runs is set by the test, not by timing. Batches take at most 3 tiles.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VisionBatchingTest {
    private static final int MAX_BATCH = 3;

    private GatedEngine engine;
    private RunningVision vision;
    private final ExecutorService clients = Executors.newFixedThreadPool(8);

    @BeforeAll
    void start() {
        vision = new RunningVision(MAX_BATCH, Duration.ofMillis(5), ImageLimits.defaults(), checkpoint -> {
            engine = new GatedEngine(CpuVisionEngine.load(checkpoint));
            return engine;
        });
    }

    @AfterEach
    void openGate() {
        engine.open();
    }

    @AfterAll
    void stop() {
        clients.shutdownNow();
        vision.close();
    }

    @Test
    void concurrentRequestsShareBatchesAndEachGetsItsOwnTiles() throws Exception {
        List<String> images = List.of("camera.png", "chelsea.png", "rocket.jpg", "gen_gray_210x400.png",
                "gen_tiny_37x23.png", "gen_photo_exif6_512x256.jpg");
        double batches = vision.metric("vision_batch_tiles_count");
        double singleTileBatches = vision.metric("vision_batch_tiles_bucket", "le=1.0");

        // The first request's tile reaches the gate alone; the other five queue up behind it.
        engine.hold();
        List<CompletableFuture<List<TileEmbedding>>> calls = new ArrayList<>();
        calls.add(encodeAsync(images.getFirst()));
        RunningVision.await("the first batch at the gate", engine::batchWaiting);
        images.subList(1, images.size()).forEach(image -> calls.add(encodeAsync(image)));
        RunningVision.await("five tiles queued", () -> vision.metric("vision_queue_tiles") == images.size() - 1);
        engine.open();

        try (Checkpoint checkpoint = Checkpoint.open(Golden.checkpoint())) {
            VisionEngine alone = CpuVisionEngine.load(checkpoint);
            ImagePreprocessor preprocessor = new ImagePreprocessor(alone.tileSize(), ImageLimits.defaults());
            for (int i = 0; i < images.size(); i++) {
                List<TileEmbedding> tiles = calls.get(i).get(60, TimeUnit.SECONDS);
                assertEquals(1, tiles.size(), images.get(i));
                PreprocessedImage image = preprocessor.preprocess(Golden.image(images.get(i)), 1, 1, true);
                float[] expected = alone.encode(image.pixelValues(), 1);
                VisionServiceTest.assertClose(images.get(i) + " in a shared batch",
                        VisionServiceTest.f32(tiles.getFirst().getEmbedding()), expected, Golden.embedsTolerance(), 0);
            }
        }
        // [camera] alone, then the five others in batches of 3 and 2
        assertEquals(batches + 3, vision.metric("vision_batch_tiles_count"));
        assertEquals(singleTileBatches + 1, vision.metric("vision_batch_tiles_bucket", "le=1.0"));
        assertEquals(0, vision.metric("vision_queue_tiles"));
    }

    @Test
    void aCancelledRequestHasItsQueuedTilesDropped() throws Exception {
        // chelsea at max 12 is 7 tiles: batches [0 1 2] [3 4 5] [6]
        EncodeRequest request = RunningVision.request(Golden.image("chelsea.png"), 12, DType.DTYPE_F32);
        int encodedBefore = engine.tilesEncoded();
        double streamed = vision.metric("vision_tiles_total", "source=encoder");
        double cancelled = vision.metric("vision_requests_total", "method=Encode", "code=CANCELLED");

        engine.hold();
        engine.allow(1);
        Context.CancellableContext call = Context.current().withCancellation();
        Iterator<TileEmbedding> tiles = call.call(() -> vision.blocking().encode(request));
        for (int i = 0; i < MAX_BATCH; i++) {
            assertEquals(i, tiles.next().getTileIndex());
        }
        RunningVision.await("the second batch at the gate", engine::batchWaiting);
        assertEquals(1, vision.metric("vision_queue_tiles"));

        call.cancel(null);
        RunningVision.await("the server to see the cancellation",
                () -> vision.metric("vision_requests_total", "method=Encode", "code=CANCELLED") == cancelled + 1);
        assertEquals(0, vision.metric("vision_queue_tiles"), "the last tile is still queued");
        engine.open();
        RunningVision.await("the running batch to finish", () -> engine.tilesEncoded() == encodedBefore + 6);
        Thread.sleep(200);
        assertEquals(encodedBefore + 6, engine.tilesEncoded(), "tiles were encoded after the cancellation");
        assertEquals(streamed + 3, vision.metric("vision_tiles_total", "source=encoder"),
                "tiles were sent after the cancellation");
    }

    @Test
    void aRequestPastItsDeadlineHasItsQueuedTilesDropped() throws Exception {
        // gen_rgba_600x200 at max 6 is a 3x1 grid and a thumbnail: batches [0 1 2] [3]
        EncodeRequest request = RunningVision.request(Golden.image("gen_rgba_600x200.png"), 6, DType.DTYPE_BF16);
        int encodedBefore = engine.tilesEncoded();
        double ended = endedByCaller();

        engine.hold();
        VisionServiceGrpc.VisionServiceBlockingStub stub = vision.blocking().withDeadlineAfter(1, TimeUnit.SECONDS);
        CompletableFuture<List<TileEmbedding>> call = CompletableFuture.supplyAsync(() -> {
            List<TileEmbedding> tiles = new ArrayList<>();
            stub.encode(request).forEachRemaining(tiles::add);
            return tiles;
        }, clients);
        RunningVision.await("the first batch at the gate", engine::batchWaiting);
        assertEquals(1, vision.metric("vision_queue_tiles"));
        ExecutionException failure = assertThrows(ExecutionException.class, () -> call.get(60, TimeUnit.SECONDS));
        StatusRuntimeException e = assertInstanceOf(StatusRuntimeException.class, failure.getCause());
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
        // The client's deadline usually fires before the server's copy of it, so the server may hear of a
        // cancellation rather than an expiry: either way the call ended and its queued tiles must go.
        RunningVision.await("the server to count the expired call", () -> endedByCaller() == ended + 1);
        assertEquals(0, vision.metric("vision_queue_tiles"), "the thumbnail is still queued");
        engine.open();
        RunningVision.await("the running batch to finish", () -> engine.tilesEncoded() == encodedBefore + MAX_BATCH);
        Thread.sleep(200);
        assertEquals(encodedBefore + MAX_BATCH, engine.tilesEncoded(), "tiles were encoded after the deadline");
    }

    private double endedByCaller() {
        return vision.metric("vision_requests_total", "method=Encode", "code=DEADLINE_EXCEEDED")
                + vision.metric("vision_requests_total", "method=Encode", "code=CANCELLED");
    }

    private CompletableFuture<List<TileEmbedding>> encodeAsync(String image) {
        EncodeRequest request = RunningVision.request(Golden.image(image), 1, DType.DTYPE_F32);
        return CompletableFuture.supplyAsync(() -> vision.encode(request), clients);
    }
}
