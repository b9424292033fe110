package dev.internvl.mesh.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.internvl.mesh.gateway.http.HttpExchange;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * {@code /health/live}: the process answers. {@code /health/ready}: the language tier answers its health check
 * (the gateway cannot chat without it); the vision tier's state is reported beside it, since text chats work
 * without it. A health check is idempotent, so a failed one is retried once before the tier counts as down.
 */
final class HealthHandlers {
    private final ObjectMapper json;
    private final ManagedChannel llm;
    private final ManagedChannel vision;
    private final Retry retry = Retry.of("health", RetryConfig.custom().maxAttempts(2).waitDuration(Duration.ofMillis(100)).build());

    HealthHandlers(ObjectMapper json, ManagedChannel llm, ManagedChannel vision) {
        this.json = json;
        this.llm = llm;
        this.vision = vision;
    }

    void live(HttpExchange exchange) {
        exchange.sendJson(200, json.createObjectNode().put("status", "ok"));
    }

    void ready(HttpExchange exchange) {
        boolean llmUp = serving(llm, "internvl.mesh.v1.LlmService");
        boolean visionUp = vision != null && serving(vision, "internvl.mesh.v1.VisionService");
        ObjectNode body = json.createObjectNode().put("status", llmUp ? "ready" : "not ready");
        body.putObject("tiers").put("llm", llmUp ? "up" : "down").put("vision", visionUp ? "up" : "down");
        exchange.sendJson(llmUp ? 200 : 503, body);
    }

    private boolean serving(ManagedChannel channel, String service) {
        try {
            return Retry.decorateSupplier(retry, () -> HealthGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(1, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(service).build())
                    .getStatus() == HealthCheckResponse.ServingStatus.SERVING).get();
        } catch (RuntimeException e) {
            return false;
        }
    }
}
