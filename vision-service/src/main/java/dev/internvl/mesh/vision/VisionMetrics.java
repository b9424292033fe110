package dev.internvl.mesh.vision;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;

import java.util.Locale;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/** The vision tier's Prometheus metrics, all on one registry (the one the metrics server serves). */
public final class VisionMetrics {
    /** Where a streamed tile's embeddings came from: the label values of {@code vision_tiles_total}. */
    public enum TileSource { ENCODER, CACHE }

    private final PrometheusRegistry registry;
    private final Counter requests;
    private final Counter tiles;
    private final Histogram batchTiles;
    private final Histogram encodeSeconds;
    private final Counter cacheHits;
    private final Counter cacheMisses;

    public VisionMetrics(PrometheusRegistry registry) {
        this.registry = registry;
        this.requests = Counter.builder()
                .name("vision_requests_total")
                .help("gRPC calls to the vision service, by method and final status code")
                .labelNames("method", "code")
                .register(registry);
        this.tiles = Counter.builder()
                .name("vision_tiles_total")
                .help("Tiles streamed to callers, by where their embeddings came from (encoder or cache)")
                .labelNames("source")
                .register(registry);
        this.batchTiles = Histogram.builder()
                .name("vision_batch_tiles")
                .help("Tiles per encoder batch")
                .classicOnly()
                .classicExponentialUpperBounds(1, 2, 8)
                .register(registry);
        this.encodeSeconds = Histogram.builder()
                .name("vision_encode_seconds")
                .help("Time the vision encoder took for one batch")
                .unit(Unit.SECONDS)
                .classicOnly()
                .classicExponentialUpperBounds(0.005, 2, 14)
                .register(registry);
        this.cacheHits = Counter.builder()
                .name("vision_cache_hits_total")
                .help("Requests answered from the embedding cache")
                .register(registry);
        this.cacheMisses = Counter.builder()
                .name("vision_cache_misses_total")
                .help("Requests whose image was not in the embedding cache")
                .register(registry);
    }

    public void request(String method, String code) {
        requests.labelValues(method, code).inc();
    }

    public void tileStreamed(TileSource source) {
        tiles.labelValues(source.name().toLowerCase(Locale.ROOT)).inc();
    }

    public void batchEncoded(int tileCount, long nanos) {
        batchTiles.observe(tileCount);
        encodeSeconds.observe(nanos / 1e9);
    }

    public void cacheHit() {
        cacheHits.inc();
    }

    public void cacheMiss() {
        cacheMisses.inc();
    }

    /** Reports {@code vision_queue_tiles}: tiles waiting for a batch. */
    public void watchQueue(IntSupplier queuedTiles) {
        GaugeWithCallback.builder()
                .name("vision_queue_tiles")
                .help("Tiles waiting for an encoder batch")
                .callback(cb -> cb.call(queuedTiles.getAsInt()))
                .register(registry);
    }

    /** Reports {@code vision_cache_bytes}: what the cached embeddings weigh. */
    public void watchCache(LongSupplier cachedBytes) {
        GaugeWithCallback.builder()
                .name("vision_cache_bytes")
                .help("Bytes of embeddings held in the embedding cache")
                .unit(Unit.BYTES)
                .callback(cb -> cb.call(cachedBytes.getAsLong()))
                .register(registry);
    }
}
