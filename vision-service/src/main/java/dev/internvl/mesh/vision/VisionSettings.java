package dev.internvl.mesh.vision;

import dev.internvl.mesh.image.ImageLimits;
import dev.internvl.mesh.serving.MeshTls;
import dev.internvl.mesh.serving.Settings;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The vision service's configuration. {@link #from(Settings)} reads these environment variables:
 * <ul>
 *   <li>{@code MODEL_DIR} (required): the hub model directory.</li>
 *   <li>{@code VISION_HOST} (default {@code 127.0.0.1}): the address both servers listen on.</li>
 *   <li>{@code VISION_GRPC_PORT} (default {@code 50051}) and {@code VISION_METRICS_PORT} (default {@code 9091}).</li>
 *   <li>{@code VISION_ENGINE} (default {@code cpu}): what runs the vision tower; {@code cpu} is the only one yet.</li>
 *   <li>{@code VISION_MAX_BATCH_TILES} (default {@code 8}): the most tiles one encoder call takes.</li>
 *   <li>{@code VISION_MAX_BATCH_WAIT} (default {@code 5ms}): how long a queued tile may wait for a fuller batch.</li>
 *   <li>{@code VISION_CACHE_BYTES} (default {@code 256m}): the embedding cache's bound; {@code 0} turns it off.</li>
 *   <li>{@code VISION_MAX_IMAGE_BYTES} (default {@code 20m}) and {@code VISION_MAX_IMAGE_PIXELS} (default
 *       89,478,485, Pillow's bomb limit): the largest image accepted.</li>
 *   <li>{@code VISION_PREPROCESS_THREADS} (default {@code 2}): threads that decode and tile images.</li>
 *   <li>{@code MESH_PRECISION} (default {@code exact}): the encoder's numeric path, {@code exact} or {@code fast};
 *       read where the encoder is loaded ({@link dev.internvl.mesh.compute.Precision#configured()}).</li>
 *   <li>{@code MESH_TLS_CERT}, {@code MESH_TLS_KEY}, {@code MESH_TLS_CA} (unset: plaintext): mutual TLS on the gRPC
 *       port ({@link MeshTls}).</li>
 * </ul>
 * Sizes are like {@code 512k}, {@code 256m}, {@code 1g}; durations are milliseconds ({@code 5}) or like {@code 0.5s}.
 */
public record VisionSettings(
        Path modelDir,
        String host,
        int grpcPort,
        int metricsPort,
        VisionEngineKind engine,
        int maxBatchTiles,
        Duration maxBatchWait,
        long cacheBytes,
        ImageLimits imageLimits,
        int preprocessThreads,
        MeshTls tls) {

    public VisionSettings {
        checkPort("VISION_GRPC_PORT", grpcPort);
        checkPort("VISION_METRICS_PORT", metricsPort);
        if (maxBatchTiles < 1) {
            throw new IllegalArgumentException("VISION_MAX_BATCH_TILES must be at least 1, got " + maxBatchTiles);
        }
        if (maxBatchWait.isNegative()) {
            throw new IllegalArgumentException("VISION_MAX_BATCH_WAIT must not be negative, got " + maxBatchWait);
        }
        if (cacheBytes < 0) {
            throw new IllegalArgumentException("VISION_CACHE_BYTES must not be negative, got " + cacheBytes);
        }
        if (preprocessThreads < 1) {
            throw new IllegalArgumentException("VISION_PREPROCESS_THREADS must be at least 1, got " + preprocessThreads);
        }
    }

    /** @throws IllegalArgumentException naming the variable that is missing or does not parse */
    public static VisionSettings from(Settings env) {
        Path modelDir = env.modelDir();
        long maxImageBytes = env.bytes("VISION_MAX_IMAGE_BYTES", ImageLimits.DEFAULT_MAX_ENCODED_BYTES);
        int maxImagePixels = env.integer("VISION_MAX_IMAGE_PIXELS", (int) ImageLimits.DEFAULT_MAX_PIXELS);
        if (maxImageBytes <= 0 || maxImagePixels <= 0) {
            throw new IllegalArgumentException("VISION_MAX_IMAGE_BYTES and VISION_MAX_IMAGE_PIXELS must be positive");
        }
        return new VisionSettings(
                modelDir,
                env.string("VISION_HOST", "127.0.0.1"),
                env.integer("VISION_GRPC_PORT", 50051),
                env.integer("VISION_METRICS_PORT", 9091),
                VisionEngineKind.parse("VISION_ENGINE", env.string("VISION_ENGINE", "cpu")),
                env.integer("VISION_MAX_BATCH_TILES", 8),
                env.duration("VISION_MAX_BATCH_WAIT", Duration.ofMillis(5)),
                env.bytes("VISION_CACHE_BYTES", 256L << 20),
                new ImageLimits(maxImageBytes, maxImagePixels),
                env.integer("VISION_PREPROCESS_THREADS", 2),
                MeshTls.from(env));
    }

    private static void checkPort(String name, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(name + " must be a port number (0 to 65535), got " + port);
        }
    }
}
