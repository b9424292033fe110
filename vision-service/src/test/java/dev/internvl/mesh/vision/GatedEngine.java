package dev.internvl.mesh.vision;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The real engine behind a gate the test opens batch by batch, so that what is queued while a batch runs, and what
 * a cancellation drops, is decided by the test rather than by timing. Open unless the test holds it.
 */
final class GatedEngine implements VisionEngine {
    private static final int OPEN = 1_000_000;

    private final VisionEngine engine;
    private final Semaphore batches = new Semaphore(OPEN);
    private final AtomicInteger tilesEncoded = new AtomicInteger();

    GatedEngine(VisionEngine engine) {
        this.engine = engine;
    }

    /** Batches from now on wait for {@link #allow} or {@link #open}. */
    void hold() {
        batches.drainPermits();
    }

    void allow(int batchCount) {
        batches.release(batchCount);
    }

    void open() {
        batches.drainPermits();
        batches.release(OPEN);
    }

    /** Whether a batch is waiting at the gate. */
    boolean batchWaiting() {
        return batches.hasQueuedThreads();
    }

    /** Tiles that went through the engine (past the gate). */
    int tilesEncoded() {
        return tilesEncoded.get();
    }

    @Override
    public float[] encode(float[] pixelValues, int tiles) {
        batches.acquireUninterruptibly();
        float[] out = engine.encode(pixelValues, tiles);
        tilesEncoded.addAndGet(tiles);
        return out;
    }

    @Override
    public int tileSize() {
        return engine.tileSize();
    }

    @Override
    public int tokensPerTile() {
        return engine.tokensPerTile();
    }

    @Override
    public int embeddingDim() {
        return engine.embeddingDim();
    }
}
