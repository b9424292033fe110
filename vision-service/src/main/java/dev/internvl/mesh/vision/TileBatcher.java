package dev.internvl.mesh.vision;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs the tiles of concurrent requests through the engine together. Tiles wait in one first-in first-out queue; a
 * worker thread takes up to {@code maxBatchTiles} of them per engine call, and when fewer are queued it waits for
 * more until the oldest has waited {@code maxWait}. Each tile goes back to its job's listener as soon as its batch
 * is done, so a job hears its tiles in order. A cancelled job's queued tiles leave the queue at once; a batch
 * already running finishes, but its tiles of the cancelled job are not delivered.
 */
public final class TileBatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TileBatcher.class);

    /** Hears one job's tiles, on the batcher's thread: keep it short, it holds up the next batch. */
    public interface Listener {
        void tileEncoded(int index, float[] embedding);

        /** All tiles were delivered. */
        void finished();

        /** The job cannot finish: the engine failed, or the batcher shut down. */
        void failed(Throwable error);
    }

    private final VisionEngine engine;
    private final int maxBatchTiles;
    private final long maxWaitNanos;
    private final VisionMetrics metrics;
    private final int pixelsPerTile;
    private final int valuesPerTile;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition tilesQueued = lock.newCondition();
    private final ArrayDeque<QueuedTile> queue = new ArrayDeque<>();
    private boolean closed;
    private final Thread worker;

    private record QueuedTile(Job job, int index, long queuedAtNanos) {
    }

    /** One image's tiles. State fields are guarded by the batcher's lock. */
    private final class Job {
        final float[] pixelValues;
        final int tiles;
        final Listener listener;
        boolean over;

        Job(float[] pixelValues, int tiles, Listener listener) {
            this.pixelValues = pixelValues;
            this.tiles = tiles;
            this.listener = listener;
        }

        /** Ends the job without telling its listener; returns whether it was still running. Lock held. */
        boolean end() {
            if (over) {
                return false;
            }
            over = true;
            queue.removeIf(t -> t.job == this);
            return true;
        }
    }

    /**
     * @param maxBatchTiles the most tiles one engine call takes
     * @param maxWait       how long the oldest queued tile may wait for a fuller batch
     */
    public TileBatcher(VisionEngine engine, int maxBatchTiles, Duration maxWait, VisionMetrics metrics) {
        if (maxBatchTiles < 1) {
            throw new IllegalArgumentException("max batch tiles must be at least 1, got " + maxBatchTiles);
        }
        if (maxWait.isNegative()) {
            throw new IllegalArgumentException("max batch wait must not be negative, got " + maxWait);
        }
        this.engine = engine;
        this.maxBatchTiles = maxBatchTiles;
        this.maxWaitNanos = maxWait.toNanos();
        this.metrics = metrics;
        this.pixelsPerTile = 3 * engine.tileSize() * engine.tileSize();
        this.valuesPerTile = engine.tokensPerTile() * engine.embeddingDim();
        metrics.watchQueue(this::queuedTiles);
        this.worker = Thread.ofPlatform().name("vision-batcher").daemon().start(this::loop);
    }

    /**
     * Queues one image's tiles, {@code pixelValues [tiles, 3, size, size]}; {@code cancellation} drops those not yet
     * run.
     *
     * @throws RejectedExecutionException when the batcher is shut down
     */
    public void submit(float[] pixelValues, int tiles, Listener listener, Cancellation cancellation) {
        if (tiles < 1 || pixelValues.length != tiles * pixelsPerTile) {
            throw new IllegalArgumentException(pixelValues.length + " pixel values are not " + tiles + " tiles of "
                    + pixelsPerTile);
        }
        Job job = new Job(pixelValues, tiles, listener);
        lock.lock();
        try {
            if (closed) {
                throw new RejectedExecutionException("the vision service is shutting down");
            }
            long now = System.nanoTime();
            for (int i = 0; i < tiles; i++) {
                queue.addLast(new QueuedTile(job, i, now));
            }
            tilesQueued.signal();
        } finally {
            lock.unlock();
        }
        cancellation.onCancel(() -> {
            lock.lock();
            try {
                job.end();
            } finally {
                lock.unlock();
            }
        });
    }

    public int queuedTiles() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        List<QueuedTile> batch;
        while ((batch = nextBatch()) != null) {
            run(batch);
        }
    }

    /** Waits for a batch worth running; null once the batcher is closed. */
    private List<QueuedTile> nextBatch() {
        lock.lock();
        try {
            while (true) {
                while (queue.isEmpty() && !closed) {
                    tilesQueued.awaitUninterruptibly();
                }
                if (closed) {
                    return null;
                }
                long waited = System.nanoTime() - queue.peekFirst().queuedAtNanos();
                while (queue.size() < maxBatchTiles && waited < maxWaitNanos && !closed) {
                    tilesQueued.awaitNanos(maxWaitNanos - waited);
                    if (queue.isEmpty()) {
                        break;
                    }
                    waited = System.nanoTime() - queue.peekFirst().queuedAtNanos();
                }
                // Cancellations may have emptied the queue while we waited.
                if (!queue.isEmpty() && !closed) {
                    List<QueuedTile> batch = new ArrayList<>(Math.min(queue.size(), maxBatchTiles));
                    while (batch.size() < maxBatchTiles && !queue.isEmpty()) {
                        batch.add(queue.pollFirst());
                    }
                    return batch;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            lock.unlock();
        }
    }

    private void run(List<QueuedTile> batch) {
        float[] pixels = new float[batch.size() * pixelsPerTile];
        for (int i = 0; i < batch.size(); i++) {
            QueuedTile t = batch.get(i);
            System.arraycopy(t.job.pixelValues, t.index * pixelsPerTile, pixels, i * pixelsPerTile, pixelsPerTile);
        }
        float[] embeddings;
        long start = System.nanoTime();
        try {
            embeddings = engine.encode(pixels, batch.size());
        } catch (RuntimeException | OutOfMemoryError e) {
            LOG.error("vision engine failed on a batch of {} tiles", batch.size(), e);
            Set<Job> jobs = new LinkedHashSet<>();
            batch.forEach(t -> jobs.add(t.job));
            jobs.forEach(job -> fail(job, e));
            return;
        }
        metrics.batchEncoded(batch.size(), System.nanoTime() - start);
        for (int i = 0; i < batch.size(); i++) {
            QueuedTile t = batch.get(i);
            if (isOver(t.job)) {
                continue;
            }
            float[] embedding = Arrays.copyOfRange(embeddings, i * valuesPerTile, (i + 1) * valuesPerTile);
            try {
                t.job.listener.tileEncoded(t.index, embedding);
                if (t.index == t.job.tiles - 1 && endJob(t.job)) {
                    t.job.listener.finished();
                }
            } catch (RuntimeException e) {
                LOG.error("a tile listener failed; failing its request", e);
                fail(t.job, e);
            }
        }
    }

    private void fail(Job job, Throwable error) {
        if (endJob(job)) {
            try {
                job.listener.failed(error);
            } catch (RuntimeException e) {
                LOG.error("a tile listener failed to take its request's failure", e);
            }
        }
    }

    private boolean isOver(Job job) {
        lock.lock();
        try {
            return job.over;
        } finally {
            lock.unlock();
        }
    }

    private boolean endJob(Job job) {
        lock.lock();
        try {
            return job.end();
        } finally {
            lock.unlock();
        }
    }

    /** Stops after the running batch; jobs still queued fail with a {@link RejectedExecutionException}. */
    @Override
    public void close() {
        Set<Job> abandoned = new LinkedHashSet<>();
        lock.lock();
        try {
            closed = true;
            queue.forEach(t -> abandoned.add(t.job));
            tilesQueued.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            if (!worker.join(Duration.ofSeconds(30))) {
                LOG.warn("the vision batcher did not stop within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        abandoned.forEach(job -> fail(job, new RejectedExecutionException("the vision service is shutting down")));
    }
}
