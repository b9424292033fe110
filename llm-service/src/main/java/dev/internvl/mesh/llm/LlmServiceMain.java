package dev.internvl.mesh.llm;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.ModelConfig;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.engine.EngineSettings;
import dev.internvl.mesh.engine.GenerationEngine;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.ModelInfo;
import dev.internvl.mesh.serving.GrpcServer;
import dev.internvl.mesh.serving.MetricsServer;
import dev.internvl.mesh.serving.ModelInfos;
import dev.internvl.mesh.serving.ServiceRunner;
import dev.internvl.mesh.serving.Settings;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;

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
 * </ul>
 */
public final class LlmServiceMain {
    private static final Logger LOG = LoggerFactory.getLogger(LlmServiceMain.class);

    /** A running tier: close it to stop. */
    public record Running(GrpcServer grpc, MetricsServer metrics, GenerationEngine engine, AutoCloseable resources) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            grpc.close();
            metrics.close();
            engine.close();
            resources.close();
        }
    }

    public static Running start(Settings s) {
        Path modelDir = s.path("MODEL_DIR").orElseThrow(() -> new IllegalArgumentException("MODEL_DIR is not set: point it at a hub InternVL 2.5 model directory"));
        Checkpoint checkpoint = Checkpoint.open(modelDir);
        ModelTokenizer tokenizer = ModelTokenizer.load(s.path("TOKENIZER_DIR").orElse(modelDir));
        ModelConfig config = checkpoint.config();
        Precision precision = Precision.parse(s.string(Precision.ENVIRONMENT, "exact"));
        Qwen2Model model = Qwen2Model.load(checkpoint, ComputePool.shared(), precision);
        KvBlockPool cache = KvBlockPool.withBudget(config.llm(), 16, s.bytes("LLM_KV_CACHE_BYTES", 1L << 30));
        EngineSettings defaults = EngineSettings.defaults();
        EngineSettings engineSettings = new EngineSettings(s.integer("LLM_MAX_RUNNING", defaults.maxRunning()),
                s.integer("LLM_PREFILL_CHUNK", defaults.prefillChunk()), s.integer("LLM_MAX_STEP_TOKENS", defaults.maxStepTokens()),
                s.integer("LLM_MAX_WAITING", defaults.maxWaiting()));
        int[] stops = tokenizer.specialTokens().stopTokenIds().stream().mapToInt(Integer::intValue).toArray();
        GenerationEngine engine = new GenerationEngine(model, cache, engineSettings, () -> tokenizer.streamDecoder(true), stops);

        String visionAddr = s.string("VISION_ADDR", "127.0.0.1:50051");
        VisionClient vision = new VisionClient(NettyChannelBuilder.forTarget(visionAddr).usePlaintext()
                .maxInboundMessageSize(64 << 20).build(), s.duration("LLM_VISION_TIMEOUT", Duration.ofSeconds(120)).toMillis(),
                wireDtype(s.string("LLM_VISION_DTYPE", "bf16")));
        ModelInfo info = ModelInfos.describe(config, modelDir.getFileName().toString());
        PrometheusRegistry registry = new PrometheusRegistry();
        LlmMetrics metrics = new LlmMetrics(registry, engine);
        String host = s.string("LLM_HOST", "127.0.0.1");
        GrpcServer grpc = GrpcServer.builder(host, s.integer("LLM_GRPC_PORT", 50052))
                .service(new LlmGrpcService(engine, tokenizer, vision, info, metrics))
                .start();
        MetricsServer metricsServer = MetricsServer.start(host, s.integer("LLM_METRICS_PORT", 9092), registry);
        grpc.setServing(true);
        LOG.info("llm-service ready: model {} ({} path), KV cache {} blocks of {} tokens, vision at {}", modelDir,
                precision, cache.blockCount(), cache.blockSize(), visionAddr);
        return new Running(grpc, metricsServer, engine, () -> {
            vision.close();
            tokenizer.close();
            checkpoint.close();
        });
    }

    private static DType wireDtype(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "bf16" -> DType.DTYPE_BF16;
            case "f32" -> DType.DTYPE_F32;
            default -> throw new IllegalArgumentException("LLM_VISION_DTYPE=" + name + ": use bf16 or f32");
        };
    }

    public static void main(String[] args) throws Exception {
        ServiceRunner.run("llm-service", () -> start(Settings.fromEnvironment()));
    }
}
