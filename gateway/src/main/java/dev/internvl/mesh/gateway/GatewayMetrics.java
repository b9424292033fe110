package dev.internvl.mesh.gateway;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;

/** The gateway's own metrics (Prometheus naming conventions); gauges over live state are registered where it lives. */
public final class GatewayMetrics {
    public final PrometheusRegistry registry;
    public final Counter httpRequests;
    public final Histogram httpDuration;
    public final Histogram timeToFirstToken;
    public final Histogram timePerOutputToken;
    public final Histogram generationDuration;
    public final Counter promptTokens;
    public final Counter cachedPromptTokens;
    public final Counter generationTokens;
    public final Histogram storeDuration;

    public GatewayMetrics(PrometheusRegistry registry) {
        this.registry = registry;
        httpRequests = Counter.builder().name("gateway_http_requests_total").help("HTTP requests by route and status code")
                .labelNames("route", "code").register(registry);
        httpDuration = Histogram.builder().name("gateway_http_request_duration_seconds").unit(Unit.SECONDS)
                .help("HTTP requests from arrival to the end of the response, by route").labelNames("route").register(registry);
        timeToFirstToken = Histogram.builder().name("gateway_time_to_first_token_seconds").unit(Unit.SECONDS)
                .help("From a chat request's arrival to its first generated token")
                .classicUpperBounds(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80).register(registry);
        timePerOutputToken = Histogram.builder().name("gateway_time_per_output_token_seconds").unit(Unit.SECONDS)
                .help("Mean time between a chat's generated tokens")
                .classicUpperBounds(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5).register(registry);
        generationDuration = Histogram.builder().name("gateway_chat_duration_seconds").unit(Unit.SECONDS)
                .help("Chat requests end to end").register(registry);
        promptTokens = Counter.builder().name("gateway_prompt_tokens_total").help("Prompt tokens of finished chats").register(registry);
        cachedPromptTokens = Counter.builder().name("gateway_cached_prompt_tokens_total")
                .help("Prompt tokens the language tier took from its prefix cache").register(registry);
        generationTokens = Counter.builder().name("gateway_generation_tokens_total").help("Generated tokens").register(registry);
        storeDuration = Histogram.builder().name("gateway_conversation_store_duration_seconds").unit(Unit.SECONDS)
                .help("Conversation store calls by operation").labelNames("operation").register(registry);
    }
}
