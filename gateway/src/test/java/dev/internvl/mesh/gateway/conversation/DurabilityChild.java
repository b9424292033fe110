package dev.internvl.mesh.gateway.conversation;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Run in a child JVM by {@link EmbeddedConversationStoreTest#survivesKillDashNine}: stores an image, creates a
 * conversation and appends turns until it is killed, printing each acknowledged one.
 */
public final class DurabilityChild {
    /** How many acknowledged turns the test waits for before it kills this process. */
    static final int BEFORE_KILL = 40;
    static final byte[] IMAGE = ConversationStoreContract.bytes(300, 42);

    private DurabilityChild() {
    }

    static Turn turn(int i, String image) {
        return new Turn(List.of(new Turn.Text("question " + i + " ✓"), new Turn.Image(image, Optional.of(i % 12 + 1))),
                "answer " + i + " ".repeat(i), Instant.ofEpochMilli(1_700_000_000_000L + i), new Turn.Usage(100 + i, i));
    }

    public static void main(String[] args) {
        // Never closed: the parent kills this JVM while it is still appending.
        EmbeddedConversationStore store = new EmbeddedConversationStore(Path.of(args[0]), ConversationStoreContract.POLICY);
        String image = store.putImage(IMAGE);
        Conversation c = store.create(Optional.of("durable"), Map.of("pid", Long.toString(ProcessHandle.current().pid())));
        System.out.println("created " + c.id() + " " + image);
        System.out.flush();
        for (int i = 0; ; i++) {
            store.appendTurn(c.id(), i, turn(i, image));
            System.out.println("appended " + (i + 1));
            System.out.flush();
        }
    }
}
