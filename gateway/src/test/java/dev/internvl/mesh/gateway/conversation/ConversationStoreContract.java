package dev.internvl.mesh.gateway.conversation;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What every {@link ConversationStore} must do; each implementation's test class extends this. */
abstract class ConversationStoreContract {
    /** Small limits so the tests can reach them; a time to live long enough never to pass during a test. */
    static final ImagePolicy POLICY = new ImagePolicy(1000, 2500, Duration.ofMinutes(10));

    private final List<ConversationStore> opened = new ArrayList<>();

    /** A store on fresh, empty storage. */
    protected abstract ConversationStore newStore(ImagePolicy policy);

    ConversationStore store(ImagePolicy policy) {
        ConversationStore store = newStore(policy);
        opened.add(store);
        return store;
    }

    ConversationStore store() {
        return store(POLICY);
    }

    @AfterEach
    void closeStores() {
        opened.forEach(ConversationStore::close);
    }

    static Turn turn(String user, String assistant) {
        return new Turn(List.of(new Turn.Text(user)), assistant, Instant.now(), new Turn.Usage(user.length(), assistant.length()));
    }

    static Turn imageTurn(String... hashes) {
        List<Turn.Part> parts = new ArrayList<>();
        for (String hash : hashes) {
            parts.add(new Turn.Image(hash, Optional.empty()));
        }
        parts.add(new Turn.Text("what is this?"));
        return new Turn(parts, "an image", Instant.now(), new Turn.Usage(256, 3));
    }

    static ConversationSummary withTurns(ConversationSummary s, int turnCount) {
        return new ConversationSummary(s.id(), s.createdAt(), s.systemMessage(), s.metadata(), turnCount);
    }

    static byte[] bytes(int size, int seed) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) seed);
        return b;
    }

    @Test
    void createsAndGetsAConversation() {
        ConversationStore store = store();
        Instant before = Instant.now().minusMillis(1);
        Conversation created = store.create(Optional.of("You are terse."), Map.of("user", "u-1", "topic", "cats"));
        assertTrue(created.id().matches("conv_[0-9A-Za-z]{24}"), created.id());
        assertTrue(!created.createdAt().isBefore(before) && !created.createdAt().isAfter(Instant.now()));
        assertEquals(List.of(), created.turns());
        assertEquals(Optional.of(created), store.get(created.id()));

        Conversation bare = store.create(Optional.empty(), Map.of());
        assertEquals(Optional.of(bare), store.get(bare.id()));
        assertFalse(bare.id().equals(created.id()));
    }

    @Test
    void unknownAndMalformedIdsAreNotFound() {
        ConversationStore store = store();
        store.create(Optional.empty(), Map.of());
        for (String id : List.of("conv_AAAAAAAAAAAAAAAAAAAAAAAA", "", "conv_", "../etc", "conv_*", "x:conversations")) {
            assertEquals(Optional.empty(), store.get(id), id);
            assertFalse(store.delete(id), id);
            assertThrows(ConversationNotFoundException.class, () -> store.appendTurn(id, 0, turn("hi", "hello")), id);
        }
    }

    @Test
    void listsNewestFirstInPages() throws InterruptedException {
        ConversationStore store = store();
        assertEquals(new ConversationPage(List.of(), Optional.empty()), store.list(10, Optional.empty()));
        List<Conversation> created = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            created.add(store.create(Optional.of("system " + i), Map.of("n", Integer.toString(i))));
            Thread.sleep(2); // distinct creation times, so "newest first" has one answer
        }
        store.appendTurn(created.get(3).id(), 0, turn("hi", "hello"));

        ConversationPage first = store.list(2, Optional.empty());
        assertEquals(List.of(created.get(4).summary(), withTurns(created.get(3).summary(), 1)), first.conversations());
        ConversationPage second = store.list(2, first.nextCursor());
        assertEquals(List.of(created.get(2).summary(), created.get(1).summary()), second.conversations());
        ConversationPage third = store.list(2, second.nextCursor());
        assertEquals(List.of(created.get(0).summary()), third.conversations());
        assertEquals(Optional.empty(), third.nextCursor());

        // A cursor stays valid when its conversation is deleted.
        assertTrue(store.delete(created.get(1).id()));
        assertEquals(List.of(created.get(0).summary()), store.list(2, second.nextCursor()).conversations());

        ConversationPage all = store.list(4, Optional.empty());
        assertEquals(List.of(created.get(4).id(), created.get(3).id(), created.get(2).id(), created.get(0).id()),
                all.conversations().stream().map(ConversationSummary::id).toList());
        assertEquals(Optional.empty(), all.nextCursor());
    }

    @Test
    void listPagesThroughConversationsCreatedInTheSameMillisecond() {
        ConversationStore store = store();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            ids.add(store.create(Optional.empty(), Map.of()).id());
        }
        List<String> listed = new ArrayList<>();
        Optional<String> cursor = Optional.empty();
        do {
            ConversationPage page = store.list(7, cursor);
            page.conversations().forEach(c -> listed.add(c.id()));
            cursor = page.nextCursor();
        } while (cursor.isPresent());
        assertEquals(ids.stream().sorted().toList(), listed.stream().sorted().toList());
        assertEquals(30, listed.stream().distinct().count());
    }

    @Test
    void rejectsBadListArguments() {
        ConversationStore store = store();
        assertThrows(IllegalArgumentException.class, () -> store.list(0, Optional.empty()));
        assertThrows(IllegalArgumentException.class, () -> store.list(ConversationStore.MAX_PAGE_SIZE + 1, Optional.empty()));
        for (String cursor : List.of("", "abc", "12_x", "-1_conv_AAAAAAAAAAAAAAAAAAAAAAAA", "x_conv_AAAAAAAAAAAAAAAAAAAAAAAA")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.list(5, Optional.of(cursor)));
            assertTrue(e.getMessage().contains("not a cursor this server returned"), e.getMessage());
        }
    }

    @Test
    void deleteRemovesAndSaysWhetherItExisted() {
        ConversationStore store = store();
        Conversation kept = store.create(Optional.empty(), Map.of());
        Conversation gone = store.create(Optional.empty(), Map.of());
        store.appendTurn(gone.id(), 0, turn("hi", "hello"));
        assertTrue(store.delete(gone.id()));
        assertEquals(Optional.empty(), store.get(gone.id()));
        assertFalse(store.delete(gone.id()));
        assertEquals(List.of(kept.summary()), store.list(10, Optional.empty()).conversations());
        assertEquals(Optional.of(kept), store.get(kept.id()));
    }

    @Test
    void appendsTurnsInOrder() {
        ConversationStore store = store();
        Conversation c = store.create(Optional.of("Be brief."), Map.of());
        String image = store.putImage(bytes(100, 1));
        List<Turn> turns = List.of(
                turn("first", "one"),
                new Turn(List.of(new Turn.Text("compare"), new Turn.Image(image, Optional.of(4)), new Turn.Text("with"),
                        new Turn.Image(image, Optional.empty())), "they are the same", Instant.now(), new Turn.Usage(700, 5)),
                turn("third", "three"));
        for (int i = 0; i < turns.size(); i++) {
            assertEquals(i + 1, store.appendTurn(c.id(), i, turns.get(i)));
        }
        Conversation stored = store.get(c.id()).orElseThrow();
        assertEquals(turns, stored.turns());
        assertEquals(new Conversation(c.id(), c.createdAt(), c.systemMessage(), c.metadata(), turns), stored);
    }

    @Test
    void appendOnAStaleTurnCountConflictsAndChangesNothing() {
        ConversationStore store = store();
        Conversation c = store.create(Optional.empty(), Map.of());
        store.appendTurn(c.id(), 0, turn("one", "1"));
        Conversation before = store.get(c.id()).orElseThrow();
        for (int stale : List.of(0, 2)) {
            ConversationConflictException e = assertThrows(ConversationConflictException.class,
                    () -> store.appendTurn(c.id(), stale, turn("racer", "lost")));
            assertEquals(stale, e.expectedTurnCount());
            assertEquals(1, e.actualTurnCount());
            assertTrue(e.getMessage().contains("now has 1 turns, not the " + stale), e.getMessage());
        }
        assertEquals(before, store.get(c.id()).orElseThrow());
        assertThrows(IllegalArgumentException.class, () -> store.appendTurn(c.id(), -1, turn("x", "y")));
    }

    @Test
    void appendToADeletedConversationFails() {
        ConversationStore store = store();
        Conversation c = store.create(Optional.empty(), Map.of());
        store.appendTurn(c.id(), 0, turn("one", "1"));
        assertTrue(store.delete(c.id()));
        ConversationNotFoundException e = assertThrows(ConversationNotFoundException.class,
                () -> store.appendTurn(c.id(), 1, turn("two", "2")));
        assertTrue(e.getMessage().contains(c.id()), e.getMessage());
        assertEquals(Optional.empty(), store.get(c.id()));
    }

    @Test
    void storesImagesOnceByContent() {
        ConversationStore store = store();
        byte[] png = "\u0089PNG fake image bytes".getBytes(StandardCharsets.ISO_8859_1);
        String hash = store.putImage(png);
        assertEquals(Ids.sha256(png), hash);
        assertEquals(hash, store.putImage(png.clone()));
        assertArrayEquals(png, store.getImage(hash).orElseThrow());
        String other = store.putImage(bytes(10, 7));
        assertFalse(other.equals(hash));
        assertArrayEquals(bytes(10, 7), store.getImage(other).orElseThrow());
        assertEquals(Optional.empty(), store.getImage(Ids.sha256(new byte[] {1, 2, 3})));
        assertEquals(Optional.empty(), store.getImage("not-a-hash"));
        assertArrayEquals(new byte[0], store.getImage(store.putImage(new byte[0])).orElseThrow());
    }

    @Test
    void refusesAnImageOverTheLimit() {
        ConversationStore store = store();
        store.putImage(bytes(1000, 1));
        ImageTooLargeException e = assertThrows(ImageTooLargeException.class, () -> store.putImage(bytes(1001, 1)));
        assertEquals("The image is 1001 bytes, over the limit of 1000 bytes per image. "
                + "Send a smaller or more compressed image.", e.getMessage());
        assertEquals(1001, e.bytes());
        assertEquals(1000, e.limit());
        assertEquals(Optional.empty(), store.getImage(Ids.sha256(bytes(1001, 1))));
    }

    @Test
    void refusesATurnThatWouldTakeAConversationOverItsImageLimit() {
        ConversationStore store = store();
        Conversation c = store.create(Optional.empty(), Map.of());
        String a = store.putImage(bytes(1000, 1));
        String b = store.putImage(bytes(1000, 2));
        String d = store.putImage(bytes(600, 3));
        assertEquals(1, store.appendTurn(c.id(), 0, imageTurn(a, b)));
        assertEquals(2, store.appendTurn(c.id(), 1, imageTurn(a, b, a))); // images already held count once
        Conversation before = store.get(c.id()).orElseThrow();

        ImageTooLargeException e = assertThrows(ImageTooLargeException.class, () -> store.appendTurn(c.id(), 2, imageTurn(a, d)));
        assertEquals("With this message, the images in conversation '" + c.id() + "' would total 2600 bytes, "
                + "over the limit of 2500 bytes per conversation. Start a new conversation or send smaller images.", e.getMessage());
        assertEquals(2600, e.bytes());
        assertEquals(2500, e.limit());
        assertEquals(before, store.get(c.id()).orElseThrow());

        // The limit is per conversation: another one may hold the same images.
        Conversation other = store.create(Optional.empty(), Map.of());
        assertEquals(1, store.appendTurn(other.id(), 0, imageTurn(a, d)));
    }

    @Test
    void refusesATurnReferencingAnImageThatIsNotStored() {
        ConversationStore store = store();
        Conversation c = store.create(Optional.empty(), Map.of());
        String stored = store.putImage(bytes(10, 1));
        String missing = Ids.sha256(bytes(10, 2));
        ImageNotFoundException e = assertThrows(ImageNotFoundException.class, () -> store.appendTurn(c.id(), 0, imageTurn(stored, missing)));
        assertEquals(missing, e.sha256());
        assertTrue(e.getMessage().contains(missing), e.getMessage());
        assertEquals(List.of(), store.get(c.id()).orElseThrow().turns());
        // Nothing was counted against the conversation: the full allowance is still there.
        String big = store.putImage(bytes(1000, 3));
        String big2 = store.putImage(bytes(1000, 4));
        assertEquals(1, store.appendTurn(c.id(), 0, imageTurn(stored, big, big2)));
    }

    @Test
    void unreferencedImagesExpireAndDeletionReleasesOnlyUnsharedOnes() throws InterruptedException {
        Duration ttl = Duration.ofSeconds(1);
        ConversationStore store = store(new ImagePolicy(1000, 2500, ttl));
        String shared = store.putImage(bytes(10, 1));
        String own = store.putImage(bytes(10, 2));
        String neverUsed = store.putImage(bytes(10, 3));
        Conversation deleted = store.create(Optional.empty(), Map.of());
        Conversation kept = store.create(Optional.empty(), Map.of());
        store.appendTurn(deleted.id(), 0, imageTurn(shared, own));
        store.appendTurn(kept.id(), 0, imageTurn(shared));
        assertTrue(store.delete(deleted.id()));
        // Right after the delete the released image is still there, for a turn in flight that stored it.
        assertTrue(store.getImage(own).isPresent());

        awaitGone(store, own);
        awaitGone(store, neverUsed);
        assertTrue(store.getImage(shared).isPresent(), "an image another conversation references stays");
        store.putImage(bytes(10, 9)); // the embedded store reclaims space on puts and deletes
        assertTrue(store.getImage(shared).isPresent());
        Thread.sleep(ttl.toMillis() + 100);
        assertTrue(store.getImage(shared).isPresent());

        ImageNotFoundException e = assertThrows(ImageNotFoundException.class, () -> store.appendTurn(kept.id(), 1, imageTurn(own)));
        assertEquals(own, e.sha256());
        // Storing it again brings it back.
        assertEquals(own, store.putImage(bytes(10, 2)));
        assertEquals(2, store.appendTurn(kept.id(), 1, imageTurn(own)));
    }

    @Test
    void storingAnImageAgainRestartsItsTimeToLive() throws InterruptedException {
        Duration ttl = Duration.ofSeconds(2);
        ConversationStore store = store(new ImagePolicy(1000, 2500, ttl));
        String hash = store.putImage(bytes(10, 1));
        Thread.sleep(1300);
        store.putImage(bytes(10, 1));
        Thread.sleep(1300); // past the first put's expiry, before the second's
        assertTrue(store.getImage(hash).isPresent());
        awaitGone(store, hash);
    }

    private static void awaitGone(ConversationStore store, String hash) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (store.getImage(hash).isPresent()) {
            assertTrue(System.nanoTime() < deadline, "image " + hash + " should have expired");
            Thread.sleep(50);
        }
    }

    @Test
    void concurrentAppendsOnTheSameCountHaveExactlyOneWinner() throws Exception {
        ConversationStore store = store();
        Conversation c = store.create(Optional.empty(), Map.of());
        int threads = 8;
        int rounds = 20;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < rounds; round++) {
                int expected = round;
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Boolean>> attempts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    String text = "round " + round + " thread " + t;
                    attempts.add(pool.submit(() -> {
                        start.await();
                        try {
                            store.appendTurn(c.id(), expected, turn(text, "ok"));
                            return true;
                        } catch (ConversationConflictException e) {
                            return false;
                        }
                    }));
                }
                start.countDown();
                int winners = 0;
                for (Future<Boolean> attempt : attempts) {
                    winners += attempt.get(30, TimeUnit.SECONDS) ? 1 : 0;
                }
                assertEquals(1, winners, "round " + round);
            }
        } finally {
            pool.shutdownNow();
        }
        List<Turn> turns = store.get(c.id()).orElseThrow().turns();
        assertEquals(rounds, turns.size());
        for (int round = 0; round < rounds; round++) {
            String text = ((Turn.Text) turns.get(round).user().getFirst()).text();
            assertTrue(text.startsWith("round " + round + " "), text);
        }
    }

    @Test
    void unicodeRoundTrips() {
        ConversationStore store = store();
        String text = "héllo wörld — 你好，世界 — こんにちは — مرحبا بالعالم — Привет — 🐈‍⬛👩🏽‍💻🇯🇵 — e\u0301 — "
                + "\"quotes\" 'single' \\back\\slash\\ — tab\tnewline\ncr\r — nul\u0000 — \u2028\u2029 — \uFEFF — 𝔘𝔫𝔦𝔠𝔬𝔡𝔢";
        Conversation c = store.create(Optional.of("système: " + text), Map.of("clé " + text, "valeur " + text, "emoji🙂", ""));
        Turn t = new Turn(List.of(new Turn.Text(text), new Turn.Text("")), "réponse: " + text, Instant.now(), new Turn.Usage(0, 0));
        store.appendTurn(c.id(), 0, t);
        Conversation stored = store.get(c.id()).orElseThrow();
        assertEquals(c.systemMessage(), stored.systemMessage());
        assertEquals(c.metadata(), stored.metadata());
        assertEquals(List.of(t), stored.turns());
        assertEquals(c.metadata(), store.list(1, Optional.empty()).conversations().getFirst().metadata());
    }
}
