package dev.internvl.mesh.vision;

import dev.internvl.mesh.image.ImagePreprocessor;
import dev.internvl.mesh.image.PreprocessedImage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Image bytes to tile embeddings, the vision tier's work without the wire: the embedding cache first; on a miss,
 * decoding and tiling on a small pool of its own (so a large image never holds up the batches of others), then
 * the {@link TileBatcher}, and the finished image into the cache.
 */
public final class VisionPipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VisionPipeline.class);

    private final ImagePreprocessor preprocessor;
    private final EmbeddingCache cache;
    private final TileBatcher batcher;
    private final VisionMetrics metrics;
    private final ExecutorService preprocessing;

    /** The pipeline owns the batcher from here on, and closes it. */
    public VisionPipeline(ImagePreprocessor preprocessor, EmbeddingCache cache, TileBatcher batcher,
                          int preprocessThreads, VisionMetrics metrics) {
        if (preprocessThreads < 1) {
            throw new IllegalArgumentException("preprocessing needs at least one thread, got " + preprocessThreads);
        }
        this.preprocessor = preprocessor;
        this.cache = cache;
        this.batcher = batcher;
        this.metrics = metrics;
        AtomicInteger threadNumber = new AtomicInteger();
        this.preprocessing = Executors.newFixedThreadPool(preprocessThreads,
                r -> Thread.ofPlatform().name("vision-preprocess-" + threadNumber.incrementAndGet()).daemon().unstarted(r));
    }

    /**
     * Starts encoding one image and returns at once; {@code sink} hears its tiles. Cancelling {@code cancellation}
     * stops the work wherever it is: before decoding, between cached tiles, or by dropping queued tiles.
     */
    public void encode(byte[] image, Tiling tiling, TileSink sink, Cancellation cancellation) {
        try {
            preprocessing.execute(() -> {
                try {
                    prepare(image, tiling, sink, cancellation);
                } catch (RuntimeException e) {
                    sink.failed(e);
                }
            });
        } catch (RejectedExecutionException e) {
            sink.failed(e);
        }
    }

    private void prepare(byte[] image, Tiling tiling, TileSink sink, Cancellation cancellation) {
        if (cancellation.isCancelled()) {
            return;
        }
        ImageKey key = ImageKey.of(image, tiling);
        Optional<List<EncodedTile>> cached = cache.get(key);
        if (cached.isPresent()) {
            for (EncodedTile tile : cached.get()) {
                if (cancellation.isCancelled()) {
                    return;
                }
                metrics.tileStreamed(VisionMetrics.TileSource.CACHE);
                sink.tile(key, tile);
            }
            sink.completed();
            return;
        }
        PreprocessedImage tiles = preprocessor.preprocess(image, tiling.minTiles(), tiling.maxTiles(), tiling.thumbnail());
        if (cancellation.isCancelled()) {
            return;
        }
        batcher.submit(tiles.pixelValues(), tiles.numTiles(), new ImageEncoding(key, tiles, sink), cancellation);
    }

    /** Passes an image's encoded tiles on as they come, and caches them once all are there. */
    private final class ImageEncoding implements TileBatcher.Listener {
        private final ImageKey key;
        private final int count;
        private final boolean hasThumbnail;
        private final TileSink sink;
        private final List<EncodedTile> tiles = new ArrayList<>();

        ImageEncoding(ImageKey key, PreprocessedImage image, TileSink sink) {
            this.key = key;
            this.count = image.numTiles();
            this.hasThumbnail = image.hasThumbnail();
            this.sink = sink;
        }

        @Override
        public void tileEncoded(int index, float[] embedding) {
            EncodedTile tile = new EncodedTile(index, count, hasThumbnail && index == count - 1, embedding);
            tiles.add(tile);
            metrics.tileStreamed(VisionMetrics.TileSource.ENCODER);
            sink.tile(key, tile);
        }

        @Override
        public void finished() {
            cache.put(key, tiles);
            sink.completed();
        }

        @Override
        public void failed(Throwable error) {
            sink.failed(error);
        }
    }

    /** Lets images being decoded reach the batcher, then stops the batcher (failing what is still queued). */
    @Override
    public void close() {
        preprocessing.shutdown();
        try {
            if (!preprocessing.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("image preprocessing did not stop within 10 s");
                preprocessing.shutdownNow();
            }
        } catch (InterruptedException e) {
            preprocessing.shutdownNow();
            Thread.currentThread().interrupt();
        }
        batcher.close();
    }
}
