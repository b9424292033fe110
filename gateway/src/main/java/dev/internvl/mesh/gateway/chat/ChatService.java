package dev.internvl.mesh.gateway.chat;

import dev.internvl.mesh.gateway.GatewayMetrics;
import dev.internvl.mesh.gateway.openai.ApiError;
import dev.internvl.mesh.proto.v1.FinishReason;
import dev.internvl.mesh.proto.v1.GenerateResponse;
import dev.internvl.mesh.proto.v1.ModelInfo;
import dev.internvl.mesh.proto.v1.SamplingParams;
import dev.internvl.mesh.serving.FailedTier;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.Status;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One chat turn through the mesh, whichever front door it came in by: plan the prompt, check it fits the context,
 * wait for admission, then stream the language tier's tokens to a {@link ChatListener}. Every failure reaches the
 * listener (or the caller, before anything started) as an {@link ApiError}.
 *
 * <p>Each downstream has a circuit breaker: when the language tier keeps failing, chats fail fast with 503; when
 * the vision tier does, chats with images fail fast and text-only chats go on.
 */
public final class ChatService {
    private final ChatPlanner planner;
    private final LlmClient llm;
    private final ModelInfo model;
    private final ModelTokenizer tokenizer;
    private final Admission admission;
    private final CircuitBreaker llmBreaker;
    private final CircuitBreaker visionBreaker;
    private final GatewayMetrics metrics;
    private final int defaultMaxTokens;
    private final long requestTimeoutMillis;

    public ChatService(ChatPlanner planner, LlmClient llm, ModelInfo model, ModelTokenizer tokenizer, Admission admission,
                       CircuitBreaker llmBreaker, CircuitBreaker visionBreaker, GatewayMetrics metrics,
                       int defaultMaxTokens, long requestTimeoutMillis) {
        this.planner = planner;
        this.llm = llm;
        this.model = model;
        this.tokenizer = tokenizer;
        this.admission = admission;
        this.llmBreaker = llmBreaker;
        this.visionBreaker = visionBreaker;
        this.metrics = metrics;
        this.defaultMaxTokens = defaultMaxTokens;
        this.requestTimeoutMillis = requestTimeoutMillis;
    }

    public ModelInfo model() {
        return model;
    }

    public Admission admission() {
        return admission;
    }

    /** A started generation. */
    public interface Handle {
        void cancel();
    }

    /**
     * Plans and starts one turn; blocks while the request waits for admission, so call it off event loops.
     *
     * @throws ApiError when the request cannot start (bad input, too long, overloaded, a tier down)
     */
    public Handle start(List<ChatPlanner.Message> messages, Optional<Integer> maxTiles, GenerationOptions options,
                        ChatListener listener) {
        long startNanos = System.nanoTime();
        ChatPlanner.Plan plan;
        try {
            plan = planner.plan(messages, maxTiles);
        } catch (IllegalArgumentException e) {
            throw ApiError.invalidRequest(e.getMessage(), "messages");
        }
        boolean hasImages = !plan.images().isEmpty();
        int promptTokens = plan.prompt().length();
        int context = model.getMaxContextTokens();
        int room = context - promptTokens;
        int maxTokens = options.maxTokens().orElse(Math.min(defaultMaxTokens, Math.max(room, 1)));
        if (maxTokens > room) {
            throw ApiError.invalidRequest(String.format(Locale.ROOT, "This model's maximum context length is %d tokens. "
                    + "However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the "
                    + "length of the messages or completion.", context, promptTokens + maxTokens, promptTokens, maxTokens),
                    "messages", "context_length_exceeded");
        }
        if (!llmBreaker.tryAcquirePermission()) {
            throw unavailable("The language tier is unavailable; please retry shortly.");
        }
        if (hasImages && !visionBreaker.tryAcquirePermission()) {
            llmBreaker.releasePermission();
            throw unavailable("Image input is unavailable right now (the vision tier is down); text-only requests still work.");
        }
        Admission.Permit permit;
        try {
            permit = admission.acquire();
        } catch (ApiError e) {
            llmBreaker.releasePermission();
            if (hasImages) {
                visionBreaker.releasePermission();
            }
            throw e;
        }
        Relay relay = new Relay(listener, permit, hasImages, options.logprobs(), startNanos);
        try {
            relay.cancel = llm.generate(Long.toHexString(startNanos), plan.prompt(), plan.images(), sampling(options, maxTokens),
                    requestTimeoutMillis, relay);
        } catch (RuntimeException e) {
            relay.onError(e);
        }
        return relay::cancelByClient;
    }

    private static ApiError unavailable(String message) {
        return new ApiError(503, "server_error", message, null, "service_unavailable").retryAfter(5);
    }

    private static SamplingParams sampling(GenerationOptions o, int maxTokens) {
        SamplingParams.Builder b = SamplingParams.newBuilder().setMaxNewTokens(maxTokens);
        o.temperature().ifPresent(t -> b.setTemperature(t.floatValue()));
        o.topP().ifPresent(p -> b.setTopP(p.floatValue()));
        o.topK().ifPresent(b::setTopK);
        o.repetitionPenalty().ifPresent(p -> b.setRepetitionPenalty(p.floatValue()));
        o.seed().ifPresent(b::setSeed);
        b.addAllStop(o.stop());
        b.setLogprobs(o.logprobs()).setTopLogprobs(o.topLogprobs());
        return b.build();
    }

    /** Relays one generation's stream to the listener, and settles admission, breakers and metrics at its end. */
    private final class Relay implements LlmClient.Stream {
        private final ChatListener listener;
        private final Admission.Permit permit;
        private final boolean hasImages;
        private final boolean logprobs;
        private final long startNanos;
        private final AtomicBoolean ended = new AtomicBoolean();
        private long firstTokenNanos;
        private long lastTokenNanos;
        private int tokens;
        volatile Runnable cancel;

        Relay(ChatListener listener, Admission.Permit permit, boolean hasImages, boolean logprobs, long startNanos) {
            this.listener = listener;
            this.permit = permit;
            this.hasImages = hasImages;
            this.logprobs = logprobs;
            this.startNanos = startNanos;
        }

        @Override
        public void onResponse(GenerateResponse r) {
            if (ended.get()) {
                return;
            }
            if (r.getTokensCount() > 0) {
                long now = System.nanoTime();
                if (firstTokenNanos == 0) {
                    firstTokenNanos = now;
                    metrics.timeToFirstToken.observe((now - startNanos) / 1e9);
                }
                lastTokenNanos = now;
                tokens += r.getTokensCount();
            }
            if (!r.getText().isEmpty() || (logprobs && r.getTokensCount() > 0)) {
                listener.onDelta(r.getText(), logprobs ? tokenInfo(r) : List.of());
            }
            if (r.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
                var u = r.getUsage();
                metrics.promptTokens.inc(u.getPromptTokens());
                metrics.cachedPromptTokens.inc(u.getCachedPromptTokens());
                metrics.generationTokens.inc(u.getCompletionTokens());
                if (tokens > 1) {
                    metrics.timePerOutputToken.observe((lastTokenNanos - firstTokenNanos) / 1e9 / (tokens - 1));
                }
                if (end()) {
                    recordSuccess();
                    listener.onComplete(r.getFinishReason() == FinishReason.FINISH_REASON_STOP ? "stop" : "length",
                            new ChatListener.Usage(u.getPromptTokens(), u.getCompletionTokens(), u.getCachedPromptTokens()));
                }
            }
        }

        private List<ChatListener.TokenInfo> tokenInfo(GenerateResponse r) {
            List<ChatListener.TokenInfo> out = new ArrayList<>();
            for (var t : r.getTokensList()) {
                List<ChatListener.Alternative> top = new ArrayList<>();
                for (var alt : t.getTopLogprobsList()) {
                    top.add(new ChatListener.Alternative(alt.getTokenId(), alt.getToken(), alt.getLogprob()));
                }
                out.add(new ChatListener.TokenInfo(t.getTokenId(), tokenizer.decode(new int[]{t.getTokenId()}), t.getLogprob(), top));
            }
            return out;
        }

        @Override
        public void onError(Throwable error) {
            if (!end()) {
                return;
            }
            Status status = Status.fromThrowable(error);
            boolean visionFailed = FailedTier.of(error).filter(FailedTier.VISION::equals).isPresent();
            boolean tierFault = switch (status.getCode()) {
                case UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN -> true;
                default -> false;
            };
            long elapsed = System.nanoTime() - startNanos;
            if (visionFailed) {
                visionBreaker.onError(elapsed, TimeUnit.NANOSECONDS, error);
                llmBreaker.onSuccess(elapsed, TimeUnit.NANOSECONDS);
            } else {
                if (tierFault) {
                    llmBreaker.onError(elapsed, TimeUnit.NANOSECONDS, error);
                } else {
                    llmBreaker.onSuccess(elapsed, TimeUnit.NANOSECONDS);
                }
                if (hasImages) {
                    visionBreaker.releasePermission();
                }
            }
            listener.onError(apiError(status, visionFailed));
        }

        @Override
        public void onCompleted() {
            if (end()) { // a stream that ended without a finish reason
                recordSuccess();
                listener.onError(new ApiError(502, "server_error", "The language tier ended the stream early.", null, null));
            }
        }

        void cancelByClient() {
            if (end()) {
                llmBreaker.releasePermission();
                if (hasImages) {
                    visionBreaker.releasePermission();
                }
                Runnable c = cancel;
                if (c != null) {
                    c.run();
                }
            }
        }

        private void recordSuccess() {
            long elapsed = System.nanoTime() - startNanos;
            llmBreaker.onSuccess(elapsed, TimeUnit.NANOSECONDS);
            if (hasImages) {
                visionBreaker.onSuccess(elapsed, TimeUnit.NANOSECONDS);
            }
        }

        /** Marks the end once; the first caller settles admission. */
        private boolean end() {
            if (!ended.compareAndSet(false, true)) {
                return false;
            }
            permit.release();
            metrics.generationDuration.observe((System.nanoTime() - startNanos) / 1e9);
            return true;
        }
    }

    /** A language-tier status as the error a client sees. */
    static ApiError apiError(Status status, boolean visionFailed) {
        String detail = status.getDescription() == null ? status.getCode().name() : status.getDescription();
        return switch (status.getCode()) {
            case INVALID_ARGUMENT -> ApiError.invalidRequest(detail, null);
            case RESOURCE_EXHAUSTED -> new ApiError(429, "rate_limit_exceeded", "The server is at capacity: " + detail,
                    null, "server_overloaded").retryAfter(2);
            case UNAVAILABLE -> visionFailed
                    ? unavailable("Image input is unavailable right now (the vision tier is down); text-only requests still work. (" + detail + ")")
                    : unavailable("The language tier is unavailable; please retry shortly. (" + detail + ")");
            case DEADLINE_EXCEEDED -> new ApiError(504, "timeout", "The request took longer than the server allows.", null, "timeout");
            case CANCELLED -> new ApiError(499, "server_error", "The request was cancelled.", null, "cancelled");
            default -> new ApiError(500, "server_error", "The server had an error while processing your request. (" + detail + ")", null, null);
        };
    }
}
