package dev.internvl.mesh.vision;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import java.util.List;
import java.util.Optional;

/**
 * Finished images' tile embeddings by {@link ImageKey}, bounded by what the embeddings weigh: Caffeine evicts the
 * entries least likely to be asked for again (W-TinyLFU) once the total passes {@code maxBytes}. An image alone
 * heavier than that is never kept.
 */
public final class EmbeddingCache {
    /** Per-entry bookkeeping beside the float arrays: key, list, records, array headers. */
    private static final int ENTRY_OVERHEAD_BYTES = 256;
    private static final int TILE_OVERHEAD_BYTES = 64;

    private final Cache<ImageKey, List<EncodedTile>> cache;
    private final VisionMetrics metrics;

    public EmbeddingCache(long maxBytes, VisionMetrics metrics) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("cache size must not be negative, got " + maxBytes);
        }
        this.cache = Caffeine.newBuilder()
                .maximumWeight(maxBytes)
                .weigher(EmbeddingCache::weigh)
                // evict on the caller's thread, so the cache never sits above its bound between maintenance runs
                .executor(Runnable::run)
                .build();
        this.metrics = metrics;
        metrics.watchCache(this::weightedBytes);
    }

    /** The image's tiles in order, counting a hit or a miss. */
    public Optional<List<EncodedTile>> get(ImageKey key) {
        List<EncodedTile> tiles = cache.getIfPresent(key);
        if (tiles == null) {
            metrics.cacheMiss();
        } else {
            metrics.cacheHit();
        }
        return Optional.ofNullable(tiles);
    }

    public void put(ImageKey key, List<EncodedTile> tiles) {
        cache.put(key, List.copyOf(tiles));
    }

    /** What the cached entries weigh now, in bytes (approximately: the floats plus a fixed overhead). */
    public long weightedBytes() {
        return cache.policy().eviction().orElseThrow().weightedSize().orElse(0);
    }

    private static int weigh(ImageKey key, List<EncodedTile> tiles) {
        long bytes = ENTRY_OVERHEAD_BYTES;
        for (EncodedTile t : tiles) {
            bytes += TILE_OVERHEAD_BYTES + 4L * t.embedding().length;
        }
        return (int) Math.min(Integer.MAX_VALUE, bytes);
    }
}
