package dev.internvl.mesh.llm;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.ModelConfig;
import dev.internvl.mesh.checkpoint.WeightSchema;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.engine.EngineSettings;
import dev.internvl.mesh.engine.GenerationEngine;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.llm.shard.LayerShardMain;
import dev.internvl.mesh.llm.shard.ShardedLayers;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.ModelInfo;
import dev.internvl.mesh.serving.GrpcServer;
import dev.internvl.mesh.serving.MeshTls;
import dev.internvl.mesh.serving.MetricsServer;
import dev.internvl.mesh.serving.ModelInfos;
import dev.internvl.mesh.serving.ServiceRunner;
import dev.internvl.mesh.serving.Settings;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * The language tier as a process. Settings come from the environment:
 * <ul>
 *   <li>{@code MODEL_DIR} (required): the hub model directory; {@code TOKENIZER_DIR} (MODEL_DIR) where the
 *       tokenizer files are, when they live apart from the weights</li>
 *   <li>{@code LLM_HOST} (127.0.0.1), {@code LLM_GRPC_PORT} (50052), {@code LLM_METRICS_PORT} (9092)</li>
 *   <li>{@code VISION_ADDR} (127.0.0.1:50051): the vision tier, {@code LLM_VISION_TIMEOUT} (120s) per image,
 *       {@code LLM_VISION_DTYPE} (bf16): embeddings on the wire, {@code bf16} or {@code f32} (exact)</li>
 *   <li>{@code LLM_KV_CACHE_BYTES} (1g): the paged KV cache's memory</li>
 *   <li>{@code MESH_PRECISION} (exact): the numeric path, {@code exact} (fp32 activations, the golden-checked path) or
 *       {@code fast} (BF16 activations, a native BF16 GEMM where the CPU has one); see {@link Precision}</li>
 *   <li>{@code LLM_MAX_RUNNING} (32), {@code LLM_PREFILL_CHUNK} (256), {@code LLM_MAX_STEP_TOKENS} (512),
 *       {@code LLM_MAX_WAITING} (256): see {@link EngineSettings}</li>
 *   <li>{@code LLM_SHARD_ADDRS} (unset): comma-separated addresses of layer shards ({@link LayerShardMain}) in layer
 *       order. When set, this process is the coordinator: it maps only the embeddings, final norm and lm_head,
 *       keeps the KV block accounting, schedules and samples, and the shards run the decoder layers.
 *       {@code LLM_SHARD_WIRE_DTYPE} (bf16) hidden states on the wire ({@code f32}: bit-exact with one process),
 *       {@code LLM_SHARD_MICRO_BATCHES} (the shard count) groups a large decode batch (48+ rows a group) is split into,
 *       {@code LLM_SHARD_TIMEOUT} (60s) per call, {@code LLM_SHARD_CONNECT_TIMEOUT} (5m) to wait for the shards at
 *       start, {@code LLM_SHARD_PROBE_INTERVAL} (1s). {@code LLM_KV_CACHE_BYTES} then sizes each shard's storage.</li>
 *   <li>{@code MESH_TLS_CERT}, {@code MESH_TLS_KEY}, {@code MESH_TLS_CA} (unset: plaintext): mutual TLS on the gRPC
 *       port and to the vision tier and the layer shards ({@link MeshTls})</li>
 * </ul>
 */
public final class LlmServiceMain {
    private static final Logger LOG = LoggerFactory.getLogger(LlmServiceMain.class);

    /** A running tier: close it to stop. */
    public record Running(GrpcServer grpc, MetricsServer metrics, GenerationEngine engine, AutoCloseable resources) implements AutoCloseable {
        public int port() {
            return grpc.port();
        }

        @Override
        public void close() throws Exception {
            grpc.close();
            metrics.close();
            engine.close();
            resources.close();
        }
    }

    public static Running start(Settings s) {
        Path modelDir = s.modelDir();
        Precision precision = Precision.parse(s.string(Precision.ENVIRONMENT, "exact"));
        MeshTls tls = MeshTls.from(s);
        List<String> shardAddresses = s.string("LLM_SHARD_ADDRS").stream()
                .flatMap(v -> Arrays.stream(v.split(","))).map(String::trim).filter(v -> !v.isEmpty()).toList();
        Checkpoint checkpoint = Checkpoint.open(modelDir, shardAddresses.isEmpty() ? WeightSchema.ALL : WeightSchema.LLM_OUTSIDE_LAYERS);
        ModelTokenizer tokenizer = ModelTokenizer.load(s.path("TOKENIZER_DIR").orElse(modelDir));
        ModelConfig config = checkpoint.config();
        Qwen2Model model;
        KvBlockPool cache;
        ShardedLayers shards = null;
        if (shardAddresses.isEmpty()) {
            model = Qwen2Model.load(checkpoint, ComputePool.shared(), precision);
            cache = KvBlockPool.withBudget(config.llm(), 16, s.bytes("LLM_KV_CACHE_BYTES", 1L << 30));
        } else {
            shards = ShardedLayers.connect(shardAddresses, tls.channelCredentials(), config.llm(), precision, wireDtype("LLM_SHARD_WIRE_DTYPE", s.string("LLM_SHARD_WIRE_DTYPE", "bf16")),
                    s.integer("LLM_SHARD_MICRO_BATCHES", shardAddresses.size()), s.duration("LLM_SHARD_TIMEOUT", Duration.ofSeconds(60)),
                    s.duration("LLM_SHARD_CONNECT_TIMEOUT", Duration.ofMinutes(5)), s.duration("LLM_SHARD_PROBE_INTERVAL", Duration.ofSeconds(1)));
            model = Qwen2Model.withLayers(checkpoint, ComputePool.shared(), precision, shards);
            cache = model.newKvCache(shards.kvBlockSize(), shards.kvBlocks());
        }
        EngineSettings defaults = EngineSettings.defaults();
        EngineSettings engineSettings = new EngineSettings(s.integer("LLM_MAX_RUNNING", defaults.maxRunning()),
                s.integer("LLM_PREFILL_CHUNK", defaults.prefillChunk()), s.integer("LLM_MAX_STEP_TOKENS", defaults.maxStepTokens()),
                s.integer("LLM_MAX_WAITING", defaults.maxWaiting()));
        int[] stops = tokenizer.specialTokens().stopTokenIds().stream().mapToInt(Integer::intValue).toArray();
        GenerationEngine engine = new GenerationEngine(model, cache, engineSettings, () -> tokenizer.streamDecoder(true), stops);

        String visionAddr = s.string("VISION_ADDR", "127.0.0.1:50051");
        VisionClient vision = new VisionClient(NettyChannelBuilder.forTarget(visionAddr, tls.channelCredentials())
                .maxInboundMessageSize(64 << 20).build(), s.duration("LLM_VISION_TIMEOUT", Duration.ofSeconds(120)).toMillis(),
                wireDtype("LLM_VISION_DTYPE", s.string("LLM_VISION_DTYPE", "bf16")));
        ModelInfo info = ModelInfos.describe(config, modelDir.getFileName().toString());
        PrometheusRegistry registry = new PrometheusRegistry();
        LlmMetrics metrics = new LlmMetrics(registry, engine);
        ShardedLayers layerShards = shards;
        if (layerShards != null) {
            CounterWithCallback.builder().name("llm_shard_wire_bytes_total")
                    .help("Hidden-state bytes between the coordinator and the layer shards").labelNames("direction")
                    .callback(cb -> {
                        ShardedLayers.WireStats w = layerShards.wireStats();
                        cb.call(w.bytesSent(), "sent");
                        cb.call(w.bytesReceived(), "received");
                    }).register(registry);
            GaugeWithCallback.builder().name("llm_layer_shards_up")
                    .help("1 while every layer shard answers with the layout the tier started with, else 0")
                    .callback(cb -> cb.call(layerShards.unavailableReason() == null ? 1 : 0)).register(registry);
        }
        String host = s.string("LLM_HOST", "127.0.0.1");
        GrpcServer grpc = GrpcServer.builder(host, s.integer("LLM_GRPC_PORT", 50052), tls)
                .service(new LlmGrpcService(engine, tokenizer, vision, info, metrics,
                        layerShards == null ? () -> null : layerShards::unavailableReason))
                .start();
        MetricsServer metricsServer = MetricsServer.start(host, s.integer("LLM_METRICS_PORT", 9092), registry);
        if (layerShards != null) {
            layerShards.watch(new ShardedLayers.Listener() {
                @Override
                public void lost(StatusRuntimeException reason) {
                    grpc.setServing(false);
                    engine.abortRunning(reason);
                }

                @Override
                public void restored() {
                    grpc.setServing(true);
                }
            });
        }
        grpc.setServing(layerShards == null || layerShards.unavailableReason() == null);
        LOG.info("llm-service ready: model {} ({} path), KV cache {} blocks of {} tokens, {}, vision at {}", modelDir,
                precision, cache.blockCount(), cache.blockSize(),
                layerShards == null ? "all layers here" : "layers on " + shardAddresses.size() + " shards " + shardAddresses, visionAddr);
        return new Running(grpc, metricsServer, engine, () -> {
            if (layerShards != null) {
                layerShards.close();
            }
            vision.close();
            tokenizer.close();
            checkpoint.close();
        });
    }

    private static DType wireDtype(String setting, String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "bf16" -> DType.DTYPE_BF16;
            case "f32" -> DType.DTYPE_F32;
            default -> throw new IllegalArgumentException(setting + "=" + name + ": use bf16 or f32");
        };
    }

    public static void main(String[] args) throws Exception {
        ServiceRunner.run("llm-service", () -> start(Settings.fromEnvironment()));
    }
}
