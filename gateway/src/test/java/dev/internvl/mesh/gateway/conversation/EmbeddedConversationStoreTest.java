package dev.internvl.mesh.gateway.conversation;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbeddedConversationStoreTest extends ConversationStoreContract {
    @TempDir
    Path dir;
    private int files;

    @Override
    protected ConversationStore newStore(ImagePolicy policy) {
        return new EmbeddedConversationStore(dir.resolve("store-" + files++ + ".db"), policy);
    }

    @Test
    void keepsEverythingAcrossAReopenAndCreatesMissingDirectories() {
        Path file = dir.resolve("nested/dirs/conversations.db");
        Conversation c;
        String image;
        try (EmbeddedConversationStore store = new EmbeddedConversationStore(file, POLICY)) {
            c = store.create(Optional.of("sys"), Map.of("k", "v"));
            image = store.putImage(bytes(50, 5));
            store.appendTurn(c.id(), 0, imageTurn(image));
        }
        try (EmbeddedConversationStore store = new EmbeddedConversationStore(file, POLICY)) {
            Conversation stored = store.get(c.id()).orElseThrow();
            assertEquals(1, stored.turns().size());
            assertArrayEquals(bytes(50, 5), store.getImage(image).orElseThrow());
            assertEquals(2, store.appendTurn(c.id(), 1, turn("again", "yes")));
        }
    }

    @Test
    void refusesAFileThatIsNotItsDatabase() throws IOException {
        Path file = dir.resolve("not-a-database.db");
        Files.writeString(file, "this is not SQLite, just some text that is long enough to have a header ".repeat(10));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new EmbeddedConversationStore(file, POLICY));
        assertTrue(e.getMessage().startsWith("cannot open conversation database " + file), e.getMessage());
    }

    /**
     * A child JVM appends turns, saying after each one it was acknowledged, and is killed with SIGKILL while it
     * keeps appending. Every acknowledged turn must be in the file, intact and in order.
     */
    @Test
    void survivesKillDashNine() throws Exception {
        Path file = dir.resolve("killed.db");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                DurabilityChild.class.getName(), file.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String conversationId = null;
        String image = null;
        int acknowledged = 0;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                String[] words = line.split(" ");
                switch (words[0]) {
                    case "created" -> {
                        conversationId = words[1];
                        image = words[2];
                    }
                    case "appended" -> acknowledged = Integer.parseInt(words[1]);
                    default -> throw new AssertionError("unexpected line from the child: " + line);
                }
                if (acknowledged == DurabilityChild.BEFORE_KILL) {
                    child.destroyForcibly(); // SIGKILL: no shutdown hooks, no close, mid-append most likely
                    break;
                }
            }
        } finally {
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child JVM did not die");
        }
        assertEquals(DurabilityChild.BEFORE_KILL, acknowledged, "the child stopped before acknowledging enough turns");
        assertNotNull(conversationId);

        try (EmbeddedConversationStore store = new EmbeddedConversationStore(file, POLICY)) {
            Conversation c = store.get(conversationId).orElseThrow();
            assertEquals(Optional.of("durable"), c.systemMessage());
            assertEquals(Map.of("pid", Long.toString(child.pid())), c.metadata());
            List<Turn> turns = c.turns();
            assertTrue(turns.size() >= acknowledged, turns.size() + " turns stored, " + acknowledged + " acknowledged");
            for (int i = 0; i < turns.size(); i++) {
                assertEquals(DurabilityChild.turn(i, image), turns.get(i));
            }
            assertArrayEquals(DurabilityChild.IMAGE, store.getImage(image).orElseThrow());
            assertEquals(turns.size() + 1, store.appendTurn(conversationId, turns.size(), turn("after the crash", "fine")));
        }
    }
}
