package dev.internvl.mesh.vision;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.image.ImagePreprocessor;
import dev.internvl.mesh.serving.GrpcServer;
import dev.internvl.mesh.serving.MetricsServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Function;

/**
 * The running vision tier: metrics and gRPC servers up first (health NOT_SERVING), then the model loaded and warmed
 * up with one tile, then SERVING. {@link #close()} drains calls and stops everything in reverse.
 */
public final class VisionServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VisionServer.class);

    private final Checkpoint checkpoint;
    private final MetricsServer metricsServer;
    private final GrpcServer grpcServer;
    private final VisionEngine engine;
    private final VisionPipeline pipeline;

    private VisionServer(Checkpoint checkpoint, MetricsServer metricsServer, GrpcServer grpcServer, VisionEngine engine,
                         VisionPipeline pipeline) {
        this.checkpoint = checkpoint;
        this.metricsServer = metricsServer;
        this.grpcServer = grpcServer;
        this.engine = engine;
        this.pipeline = pipeline;
    }

    /** Starts with the engine {@code settings} name. */
    public static VisionServer start(VisionSettings settings) {
        return start(settings, settings.engine()::load);
    }

    /** Starts with the engine {@code engines} loads from the checkpoint; returns once the service is SERVING. */
    public static VisionServer start(VisionSettings settings, Function<Checkpoint, VisionEngine> engines) {
        Checkpoint checkpoint = Checkpoint.open(settings.modelDir());
        MetricsServer metricsServer = null;
        GrpcServer grpcServer = null;
        VisionEngine engine = null;
        try {
            PrometheusRegistry registry = new PrometheusRegistry();
            VisionMetrics metrics = new VisionMetrics(registry);
            metricsServer = MetricsServer.start(settings.host(), settings.metricsPort(), registry);
            String modelName = checkpoint.dir().toAbsolutePath().normalize().getFileName().toString();
            VisionGrpcService service = new VisionGrpcService(modelName, checkpoint.config());
            grpcServer = GrpcServer.builder(settings.host(), settings.grpcPort(), settings.tls())
                    .service(service, new RequestMetricsInterceptor(metrics))
                    .start();

            long loadStart = System.nanoTime();
            engine = engines.apply(checkpoint);
            engine.encode(new float[3 * engine.tileSize() * engine.tileSize()], 1);
            LOG.info("{} vision engine for {} loaded and warmed up in {} ms", settings.engine(), modelName,
                    (System.nanoTime() - loadStart) / 1_000_000);

            TileBatcher batcher = new TileBatcher(engine, settings.maxBatchTiles(), settings.maxBatchWait(), metrics);
            VisionPipeline pipeline = new VisionPipeline(
                    new ImagePreprocessor(engine.tileSize(), settings.imageLimits()),
                    new EmbeddingCache(settings.cacheBytes(), metrics),
                    batcher, settings.preprocessThreads(), metrics);
            service.serve(pipeline);
            grpcServer.setServing(true);
            LOG.info("vision service SERVING: gRPC on {}:{}, metrics on port {}", settings.host(), grpcServer.port(),
                    metricsServer.port());
            return new VisionServer(checkpoint, metricsServer, grpcServer, engine, pipeline);
        } catch (RuntimeException e) {
            closeQuietly(grpcServer);
            closeQuietly(engine);
            closeQuietly(metricsServer);
            checkpoint.close();
            throw e;
        }
    }

    public int grpcPort() {
        return grpcServer.port();
    }

    public int metricsPort() {
        return metricsServer.port();
    }

    public void awaitTermination() throws InterruptedException {
        grpcServer.awaitTermination();
    }

    /** NOT_SERVING, running calls get a grace period, then the pipeline, engine and servers stop. */
    @Override
    public void close() {
        LOG.info("vision service stopping");
        grpcServer.close();
        pipeline.close();
        engine.close();
        metricsServer.close();
        checkpoint.close();
    }

    private static void closeQuietly(AutoCloseable resource) {
        if (resource == null) {
            return;
        }
        try {
            resource.close();
        } catch (Exception e) {
            LOG.warn("while stopping after a failed start", e);
        }
    }
}
