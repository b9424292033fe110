package dev.internvl.mesh.gateway.conversation;

import dev.internvl.mesh.gateway.GatewayMetrics;
import dev.internvl.mesh.gateway.openai.ApiError;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A store that stops answering (a hung Redis) costs a request its time limit, never a hung request. */
class ConversationStoreTimeoutTest {
    @Test
    void aHungStoreCallEndsInA503AfterTheTimeLimit() {
        ConversationStore hung = (ConversationStore) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[]{ConversationStore.class}, (proxy, method, args) -> {
                    Thread.sleep(60_000);
                    return null;
                });
        ConversationService service = new ConversationService(hung, null, ImagePolicy.DEFAULT,
                new GatewayMetrics(new PrometheusRegistry()), Duration.ofMillis(200));
        long start = System.nanoTime();
        ApiError e = assertThrows(ApiError.class, () -> service.create(Optional.empty(), Map.of()));
        assertEquals(503, e.status());
        assertEquals("store_timeout", e.code());
        assertEquals(5, e.retryAfterSeconds());
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
    }
}
