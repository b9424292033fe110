package dev.internvl.mesh.gateway.conversation;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RedisConversationStoreTest extends ConversationStoreContract {
    private static RedisServerProcess redis;
    /** Each test gets its own key prefix, which is also how it gets empty storage. */
    private final String prefix = "test-" + UUID.randomUUID();

    @BeforeAll
    static void startRedis() throws Exception {
        redis = RedisServerProcess.start();
    }

    @AfterAll
    static void stopRedis() throws Exception {
        if (redis != null) {
            redis.stop();
        }
    }

    @Override
    protected ConversationStore newStore(ImagePolicy policy) {
        return new RedisConversationStore(redis.uri(), prefix, policy);
    }

    @Test
    void twoGatewaysSeeEachOthersWrites() {
        ConversationStore a = store();
        ConversationStore b = store();
        Conversation c = a.create(Optional.of("shared"), Map.of("by", "a"));
        assertEquals(Optional.of(c), b.get(c.id()));

        String image = b.putImage(bytes(64, 9));
        assertArrayEquals(bytes(64, 9), a.getImage(image).orElseThrow());
        assertEquals(1, a.appendTurn(c.id(), 0, imageTurn(image)));
        assertEquals(2, b.appendTurn(c.id(), 1, turn("from b", "ok")));
        assertThrows(ConversationConflictException.class, () -> a.appendTurn(c.id(), 1, turn("stale a", "lost")));
        assertEquals(b.get(c.id()), a.get(c.id()));
        assertEquals(2, a.get(c.id()).orElseThrow().turns().size());
        assertEquals(List.of(c.id()), b.list(10, Optional.empty()).conversations().stream().map(ConversationSummary::id).toList());

        assertTrue(b.delete(c.id()));
        assertEquals(Optional.empty(), a.get(c.id()));
        assertFalse(a.delete(c.id()));
        assertThrows(ConversationNotFoundException.class, () -> a.appendTurn(c.id(), 2, turn("too late", "gone")));
    }

    @Test
    void keyPrefixesKeepStoresApart() {
        ConversationStore mine = store();
        Conversation c = mine.create(Optional.empty(), Map.of());
        try (ConversationStore other = new RedisConversationStore(redis.uri(), prefix + "-other", POLICY)) {
            assertEquals(Optional.empty(), other.get(c.id()));
            assertEquals(List.of(), other.list(10, Optional.empty()).conversations());
            assertFalse(other.delete(c.id()));
        }
        assertTrue(mine.get(c.id()).isPresent());
    }

    @Test
    void failsClearlyWhenRedisIsUnreachable() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new RedisConversationStore("redis://127.0.0.1:1?timeout=2s", prefix, POLICY));
        assertTrue(e.getMessage().startsWith("cannot connect to Redis at "), e.getMessage());
    }
}
