package dev.internvl.mesh.llm.shard;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.LlmConfig;
import dev.internvl.mesh.checkpoint.WeightSchema;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.model.llm.DecoderLayers;
import dev.internvl.mesh.model.llm.KvStorage;
import dev.internvl.mesh.model.llm.LayerRange;
import dev.internvl.mesh.proto.v1.ShardDescription;
import dev.internvl.mesh.serving.GrpcServer;
import dev.internvl.mesh.serving.MeshTls;
import dev.internvl.mesh.serving.MetricsServer;
import dev.internvl.mesh.serving.ServiceRunner;
import dev.internvl.mesh.serving.Settings;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.UUID;

/**
 * A layer shard of the language tier as a process. Settings come from the environment:
 * <ul>
 *   <li>{@code MODEL_DIR} (required): the hub model directory; only this shard's layers are mapped</li>
 *   <li>which layers: {@code LLM_SHARD_LAYERS} ({@code first-last}, inclusive), or {@code LLM_SHARDS} (shard
 *       count) with {@code LLM_SHARD_INDEX} for a balanced split ({@link LayerRange#split})</li>
 *   <li>{@code LLM_SHARD_HOST} (127.0.0.1), {@code LLM_SHARD_PORT} (50060 + index), {@code LLM_SHARD_METRICS_PORT}
 *       (9160 + index); 0 takes a free port</li>
 *   <li>{@code LLM_SHARD_PORT_FILE} (unset): once serving, the shard writes its gRPC port there (decimal, written
 *       whole or not at all), so whoever started it on port 0 learns where it listens</li>
 *   <li>{@code LLM_KV_CACHE_BYTES} (1g): this shard's KV storage, for its layers only</li>
 *   <li>{@code MESH_PRECISION} (exact): must match the coordinator's</li>
 *   <li>{@code MESH_TLS_CERT}, {@code MESH_TLS_KEY}, {@code MESH_TLS_CA} (unset: plaintext): mutual TLS on the gRPC
 *       port ({@link MeshTls})</li>
 * </ul>
 */
public final class LayerShardMain {
    private static final Logger LOG = LoggerFactory.getLogger(LayerShardMain.class);
    /** Positions per KV block; the coordinator's pool uses the same. */
    public static final int KV_BLOCK_SIZE = 16;

    public record Running(GrpcServer grpc, MetricsServer metrics, LayerShardService service, Checkpoint checkpoint) implements AutoCloseable {
        public int port() {
            return grpc.port();
        }

        @Override
        public void close() {
            grpc.close();
            metrics.close();
            service.close();
            checkpoint.close();
        }
    }

    public static Running start(Settings s) {
        Path modelDir = s.modelDir();
        MeshTls tls = MeshTls.from(s);
        LlmConfig config = dev.internvl.mesh.checkpoint.ModelConfig.read(modelDir.resolve("config.json")).llm();
        int index = s.integer("LLM_SHARD_INDEX", 0);
        LayerRange range = s.string("LLM_SHARD_LAYERS").map(LayerRange::parse)
                .orElseGet(() -> LayerRange.split(config.numLayers(), s.integer("LLM_SHARDS", 1)).get(index));
        Checkpoint checkpoint = Checkpoint.open(modelDir, WeightSchema.llmLayers(range.first(), range.end()));
        Precision precision = Precision.parse(s.string(Precision.ENVIRONMENT, "exact"));
        DecoderLayers layers = DecoderLayers.load(config, checkpoint.weights(), range, ComputePool.shared(), precision);
        long budget = s.bytes("LLM_KV_CACHE_BYTES", 1L << 30);
        long blocks = budget / KvStorage.bytesPerBlock(range.count(), config.kvDim(), KV_BLOCK_SIZE);
        if (blocks < 1) {
            throw new IllegalArgumentException("LLM_KV_CACHE_BYTES=" + budget + " holds no KV block for " + range.count() + " layers");
        }
        KvStorage storage = layers.newStorage(KV_BLOCK_SIZE, (int) Math.min(blocks, Integer.MAX_VALUE));
        ShardDescription description = ShardDescription.newBuilder()
                .setInstanceId(UUID.randomUUID().toString())
                .setFirstLayer(range.first()).setEndLayer(range.end()).setNumLayers(config.numLayers())
                .setHiddenSize(config.hiddenSize()).setKvBlockSize(KV_BLOCK_SIZE).setKvBlocks(storage.blockCount())
                .setModelName(modelDir.getFileName().toString()).setPrecision(precision.name().toLowerCase(Locale.ROOT))
                .build();
        PrometheusRegistry registry = new PrometheusRegistry();
        LayerShardService service = new LayerShardService(layers, storage, description, registry);
        String host = s.string("LLM_SHARD_HOST", "127.0.0.1");
        GrpcServer grpc = GrpcServer.builder(host, s.integer("LLM_SHARD_PORT", 50060 + index), tls)
                .maxInboundMessageBytes(256 << 20)
                .service(service)
                .start();
        MetricsServer metrics = MetricsServer.start(host, s.integer("LLM_SHARD_METRICS_PORT", 9160 + index), registry);
        grpc.setServing(true);
        s.string("LLM_SHARD_PORT_FILE").ifPresent(file -> writePortFile(Path.of(file), grpc.port()));
        LOG.info("layer shard ready: layers {} of {} ({} path), KV storage {} blocks of {} positions, instance {}",
                range, config.numLayers(), precision, storage.blockCount(), KV_BLOCK_SIZE, description.getInstanceId());
        return new Running(grpc, metrics, service, checkpoint);
    }

    /** The port into {@code file} through a temporary file and a rename, so a reader never sees half of it. */
    private static void writePortFile(Path file, int port) {
        try {
            Path partial = file.resolveSibling(file.getFileName() + ".partial");
            Files.writeString(partial, Integer.toString(port));
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write LLM_SHARD_PORT_FILE " + file + ": " + e.getMessage(), e);
        }
    }

    public static void main(String[] args) throws Exception {
        ServiceRunner.run("llm-shard", () -> start(Settings.fromEnvironment()));
    }
}
