package dev.internvl.mesh.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.checkpoint.ModelConfig;
import dev.internvl.mesh.gateway.chat.Admission;
import dev.internvl.mesh.gateway.chat.ChatPlanner;
import dev.internvl.mesh.gateway.chat.ChatService;
import dev.internvl.mesh.gateway.chat.LlmClient;
import dev.internvl.mesh.gateway.conversation.ConversationService;
import dev.internvl.mesh.gateway.conversation.ConversationStore;
import dev.internvl.mesh.gateway.conversation.EmbeddedConversationStore;
import dev.internvl.mesh.gateway.conversation.ImagePolicy;
import dev.internvl.mesh.gateway.conversation.RedisConversationStore;
import dev.internvl.mesh.gateway.grpc.ChatGrpcService;
import dev.internvl.mesh.gateway.http.HttpServer;
import dev.internvl.mesh.gateway.images.ImageFetchConfig;
import dev.internvl.mesh.gateway.images.ImageLoader;
import dev.internvl.mesh.gateway.openai.ApiError;
import dev.internvl.mesh.gateway.openai.ChatCompletionsHandler;
import dev.internvl.mesh.gateway.openai.ConversationsHandler;
import dev.internvl.mesh.gateway.openai.ModelsHandler;
import dev.internvl.mesh.image.ImageDecoder;
import dev.internvl.mesh.image.ImageException;
import dev.internvl.mesh.image.ImageLimits;
import dev.internvl.mesh.image.TileGrid;
import dev.internvl.mesh.prompt.PromptBuilder;
import dev.internvl.mesh.proto.v1.ModelInfo;
import dev.internvl.mesh.serving.GrpcServer;
import dev.internvl.mesh.serving.MeshTls;
import dev.internvl.mesh.serving.ModelInfos;
import dev.internvl.mesh.serving.ServiceRunner;
import dev.internvl.mesh.serving.Settings;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The gateway as a process. Settings come from the environment:
 * <ul>
 *   <li>{@code MODEL_DIR} (required): the model's hub directory, for its config and tokenizer
 *       ({@code TOKENIZER_DIR} when the tokenizer lives elsewhere); {@code GATEWAY_MODEL_NAME} (the directory's
 *       name): the model id clients ask for</li>
 *   <li>{@code GATEWAY_HOST} (127.0.0.1), {@code GATEWAY_HTTP_PORT} (8080), {@code GATEWAY_GRPC_PORT} (8081: the
 *       {@code internvl.mesh.v1.Chat} service, with health checking and reflection)</li>
 *   <li>{@code LLM_ADDR} (127.0.0.1:50052), {@code VISION_ADDR} (127.0.0.1:50051, for readiness)</li>
 *   <li>{@code MESH_TLS_CERT}, {@code MESH_TLS_KEY}, {@code MESH_TLS_CA} (unset: plaintext): mutual TLS on the gRPC
 *       port and to the tiers behind ({@link MeshTls})</li>
 *   <li>{@code GATEWAY_MAX_RUNNING} (64), {@code GATEWAY_MAX_QUEUED} (256), {@code GATEWAY_QUEUE_TIMEOUT} (30s):
 *       admission; {@code GATEWAY_REQUEST_TIMEOUT} (10m): a chat's deadline; {@code GATEWAY_DEFAULT_MAX_TOKENS}
 *       (1024): max_tokens when a request sets none; {@code GATEWAY_MAX_BODY_BYTES} (64m)</li>
 *   <li>image URLs: see {@link ImageFetchConfig}</li>
 *   <li>conversations: {@code GATEWAY_STORE_TIMEOUT} (5s) bounds each store call; {@code GATEWAY_STORE} = {@code embedded} (the default: one SQLite file,
 *       {@code GATEWAY_STORE_PATH}, {@code .run/conversations.db} under the working directory) or {@code redis}
 *       ({@code GATEWAY_REDIS_URI}, {@code redis://127.0.0.1:6379}; keys under {@code GATEWAY_REDIS_PREFIX},
 *       {@code internvl-mesh}, shared by the gateways that use the same one); stored images: see
 *       {@link ImagePolicy#from}</li>
 * </ul>
 */
public final class GatewayMain {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayMain.class);

    /** A running gateway: close it to stop. */
    public record Running(HttpServer http, GrpcServer grpc, ChatService chat, AutoCloseable resources) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            http.close();
            grpc.close();
            resources.close();
        }
    }

    public static Running start(Settings s) throws InterruptedException {
        Path modelDir = s.modelDir();
        ModelConfig config = ModelConfig.read(modelDir.resolve("config.json"));
        String modelName = s.string("GATEWAY_MODEL_NAME", modelDir.getFileName().toString());
        ModelInfo info = ModelInfos.describe(config, modelName);
        MeshTls tls = MeshTls.from(s);
        ImagePolicy imagePolicy = ImagePolicy.from(s);
        ConversationStore store = openStore(s, imagePolicy);
        ModelTokenizer tokenizer = ModelTokenizer.load(s.path("TOKENIZER_DIR").orElse(modelDir));
        ObjectMapper json = new ObjectMapper();
        PrometheusRegistry registry = new PrometheusRegistry();
        JvmMetrics.builder().register(registry);
        GatewayMetrics metrics = new GatewayMetrics(registry);

        ManagedChannel llmChannel = NettyChannelBuilder.forTarget(s.string("LLM_ADDR", "127.0.0.1:50052"),
                tls.channelCredentials()).build();
        ManagedChannel visionChannel = NettyChannelBuilder.forTarget(s.string("VISION_ADDR", "127.0.0.1:50051"),
                tls.channelCredentials()).build();
        LlmClient llm = new LlmClient(llmChannel);

        ImageDecoder probe = new ImageDecoder(ImageLimits.defaults());
        boolean thumbnails = config.useThumbnail();
        int tileSize = config.vision().imageSize();
        ChatPlanner.TileCounter tiles = (bytes, min, max, param) -> {
            try {
                ImageDecoder.ImageInfo header = probe.probe(bytes);
                return TileGrid.choose(header.width(), header.height(), min, max, tileSize).tilesWithThumbnail(thumbnails);
            } catch (ImageException e) {
                throw ApiError.invalidRequest("Invalid image in '" + param + "': " + e.getMessage(), param, "invalid_image");
            }
        };
        ChatPlanner planner = new ChatPlanner(new PromptBuilder(tokenizer, config.numImageTokens()), tiles,
                config.minDynamicPatch(), config.maxDynamicPatch());
        Admission admission = new Admission(s.integer("GATEWAY_MAX_RUNNING", 64), s.integer("GATEWAY_MAX_QUEUED", 256),
                s.duration("GATEWAY_QUEUE_TIMEOUT", Duration.ofSeconds(30)));
        CircuitBreaker llmBreaker = breaker("llm", Duration.ofSeconds(10));
        CircuitBreaker visionBreaker = breaker("vision", Duration.ofSeconds(5));
        ChatService chat = new ChatService(planner, llm, info, tokenizer, admission, llmBreaker, visionBreaker, metrics,
                s.integer("GATEWAY_DEFAULT_MAX_TOKENS", 1024), s.duration("GATEWAY_REQUEST_TIMEOUT", Duration.ofMinutes(10)).toMillis());

        GaugeWithCallback.builder().name("gateway_queue_depth").help("Chat requests waiting for admission")
                .callback(cb -> cb.call(admission.queued())).register(registry);
        GaugeWithCallback.builder().name("gateway_running_requests").help("Chat requests admitted and running")
                .callback(cb -> cb.call(admission.running())).register(registry);
        GaugeWithCallback.builder().name("gateway_circuit_breaker_state")
                .help("1 for the state each downstream's circuit breaker is in").labelNames("name", "state")
                .callback(cb -> {
                    for (CircuitBreaker b : new CircuitBreaker[]{llmBreaker, visionBreaker}) {
                        for (CircuitBreaker.State st : new CircuitBreaker.State[]{CircuitBreaker.State.CLOSED, CircuitBreaker.State.OPEN, CircuitBreaker.State.HALF_OPEN}) {
                            cb.call(b.getState() == st ? 1 : 0, b.getName(), st.name().toLowerCase());
                        }
                    }
                }).register(registry);

        ConversationService conversations = new ConversationService(store, chat, imagePolicy, metrics,
                s.duration("GATEWAY_STORE_TIMEOUT", Duration.ofSeconds(5)));

        ImageLoader images = new ImageLoader(ImageFetchConfig.from(s));
        ConversationsHandler conversationsApi = new ConversationsHandler(json, conversations, images, modelName);
        ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor();
        HealthHandlers health = new HealthHandlers(json, llmChannel, visionChannel);
        PrometheusTextFormatWriter textFormat = PrometheusTextFormatWriter.create();
        HttpServer http = HttpServer.builder(s.string("GATEWAY_HOST", "127.0.0.1"), s.integer("GATEWAY_HTTP_PORT", 8080))
                .maxBodyBytes((int) s.bytes("GATEWAY_MAX_BODY_BYTES", 64L << 20))
                .json(json)
                .observer((route, status, nanos) -> {
                    metrics.httpRequests.labelValues(route, Integer.toString(status)).inc();
                    metrics.httpDuration.labelValues(route).observe(nanos / 1e9);
                })
                .route("POST", "/v1/chat/completions", HttpServer.blocking(workers, new ChatCompletionsHandler(json, chat, images, modelName)))
                .route("POST", ConversationsHandler.COLLECTION, HttpServer.blocking(workers, conversationsApi::create))
                .route("GET", ConversationsHandler.COLLECTION, HttpServer.blocking(workers, conversationsApi::list))
                .route("GET", ConversationsHandler.ONE, HttpServer.blocking(workers, conversationsApi::get))
                .route("DELETE", ConversationsHandler.ONE, HttpServer.blocking(workers, conversationsApi::delete))
                .route("POST", ConversationsHandler.MESSAGES, HttpServer.blocking(workers, conversationsApi::postMessage))
                .route("GET", "/v1/models", new ModelsHandler(json, modelName))
                .route("GET", "/health/live", health::live)
                .route("GET", "/health/ready", HttpServer.blocking(workers, health::ready))
                .route("GET", "/metrics", ex -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    textFormat.write(out, registry.scrape());
                    ex.sendText(200, PrometheusTextFormatWriter.CONTENT_TYPE, out.toString(StandardCharsets.UTF_8));
                })
                .start();
        GrpcServer grpc = GrpcServer.builder(s.string("GATEWAY_HOST", "127.0.0.1"), s.integer("GATEWAY_GRPC_PORT", 8081), tls)
                .maxInboundMessageBytes((int) s.bytes("GATEWAY_MAX_BODY_BYTES", 64L << 20))
                .service(new ChatGrpcService(chat, conversations))
                .start();
        grpc.setServing(true);
        LOG.info("gateway ready on http://{}:{} and gRPC port {}, serving model '{}'", s.string("GATEWAY_HOST", "127.0.0.1"),
                http.port(), grpc.port(), modelName);
        return new Running(http, grpc, chat, () -> {
            workers.shutdownNow();
            images.close();
            llm.close();
            visionChannel.shutdownNow();
            tokenizer.close();
            store.close();
        });
    }

    private static ConversationStore openStore(Settings s, ImagePolicy policy) {
        String kind = s.string("GATEWAY_STORE", "embedded");
        return switch (kind) {
            case "embedded" -> {
                Path file = s.path("GATEWAY_STORE_PATH").orElse(Path.of(".run", "conversations.db"));
                LOG.info("conversations in {}", file.toAbsolutePath());
                yield new EmbeddedConversationStore(file, policy);
            }
            case "redis" -> {
                String prefix = s.string("GATEWAY_REDIS_PREFIX", "internvl-mesh");
                LOG.info("conversations in Redis under key prefix '{}'", prefix);
                yield new RedisConversationStore(s.string("GATEWAY_REDIS_URI", "redis://127.0.0.1:6379"), prefix, policy);
            }
            default -> throw new IllegalArgumentException("GATEWAY_STORE=" + kind + " is not a conversation store: use 'embedded' or 'redis'");
        };
    }

    private static CircuitBreaker breaker(String name, Duration openFor) {
        return CircuitBreaker.of(name, CircuitBreakerConfig.custom()
                .slidingWindowSize(20).minimumNumberOfCalls(4).failureRateThreshold(50)
                .waitDurationInOpenState(openFor).permittedNumberOfCallsInHalfOpenState(2)
                .automaticTransitionFromOpenToHalfOpenEnabled(true).build());
    }

    public static void main(String[] args) throws Exception {
        ServiceRunner.run("gateway", () -> start(Settings.fromEnvironment()));
    }
}
