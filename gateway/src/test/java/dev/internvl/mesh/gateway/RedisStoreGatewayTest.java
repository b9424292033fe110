package dev.internvl.mesh.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.gateway.conversation.RedisServerProcess;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.internvl.mesh.gateway.ConversationsHttpTest.assertError;
import static dev.internvl.mesh.gateway.ConversationsHttpTest.body;
import static dev.internvl.mesh.gateway.ConversationsHttpTest.conversation;
import static dev.internvl.mesh.gateway.ConversationsHttpTest.create;
import static dev.internvl.mesh.gateway.ConversationsHttpTest.messages;
import static dev.internvl.mesh.gateway.ConversationsHttpTest.say;
import static dev.internvl.mesh.gateway.TestGateway.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code GATEWAY_STORE=redis}: gateways on one real redis-server share conversations, and the store decides races. */
class RedisStoreGatewayTest {
    static RedisServerProcess redis;
    static ModelTokenizer tokenizer;
    static FakeLanguageTier llm;

    @BeforeAll
    static void start() throws Exception {
        redis = RedisServerProcess.start();
        tokenizer = ModelTokenizer.load(TestGateway.TOKENIZER_DIR);
        llm = new FakeLanguageTier(tokenizer);
    }

    @AfterAll
    static void stop() throws Exception {
        llm.close();
        tokenizer.close();
        redis.stop();
    }

    @Test
    void twoGatewaysShareConversationsAndALateTurnFromEitherIsAConflict() throws Exception {
        Map<String, String> settings = Map.of("GATEWAY_STORE", "redis", "GATEWAY_REDIS_URI", redis.uri(),
                "GATEWAY_REDIS_PREFIX", "test-" + UUID.randomUUID());
        try (TestGateway a = new TestGateway(llm, settings); TestGateway b = new TestGateway(llm, settings)) {
            String id = create(a, "{\"system_message\": \"Shared.\"}");
            assertEquals("Shared.", conversation(b, id).get("system_message").asText());
            json(say(a, id, "hello from a"), 200);
            assertEquals(1, conversation(b, id).get("turn_count").asInt());

            // a's turn is generating when b's lands: a's was built on one turn, so its append is refused
            CompletableFuture<HttpResponse<String>> late = a.postAsync(messages(id), body("content", FakeLanguageTier.HOLD + " from a"));
            llm.awaitHolding(1);
            json(say(b, id, "from b"), 200);
            llm.releaseHeld();
            assertError(late.get(30, TimeUnit.SECONDS), 409, "conversation_conflict", null);

            // streamed, the answer has gone out by then: the stream ends with the error instead of a finish reason
            CompletableFuture<HttpResponse<String>> lateStream = a.postAsync(messages(id),
                    body("content", FakeLanguageTier.HOLD + " streamed from a", "stream", true));
            llm.awaitHolding(1);
            json(say(b, id, "b again"), 200);
            llm.releaseHeld();
            List<String> events = TestGateway.events(lateStream.get(30, TimeUnit.SECONDS).body());
            assertTrue(events.get(events.size() - 2).contains("\"code\":\"conversation_conflict\""), events.toString());
            assertFalse(events.stream().anyMatch(e -> e.contains("\"finish_reason\":\"stop\"")), events.toString());

            JsonNode turns = conversation(a, id).get("turns");
            assertEquals(3, turns.size());
            assertEquals("from b", turns.at("/1/user/0/text").asText());
            assertEquals("b again", turns.at("/2/user/0/text").asText());

            json(b.delete("/v1/conversations/" + id), 200);
            assertError(a.get("/v1/conversations/" + id), 404, "conversation_not_found", null);
        }
    }

    @Test
    void anUnknownStoreIsRefusedAtStart() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TestGateway(llm, Map.of("GATEWAY_STORE", "postgres")));
        assertTrue(e.getMessage().startsWith("GATEWAY_STORE=postgres "), e.getMessage());
    }
}
