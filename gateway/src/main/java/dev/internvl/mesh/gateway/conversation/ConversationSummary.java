package dev.internvl.mesh.gateway.conversation;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** A conversation without its turns, as listings return it; {@code turnCount} is what to pass to the next append. */
public record ConversationSummary(String id, Instant createdAt, Optional<String> systemMessage,
                                  Map<String, String> metadata, int turnCount) {

    public ConversationSummary {
        Objects.requireNonNull(id, "id");
        createdAt = createdAt.truncatedTo(ChronoUnit.MILLIS);
        Objects.requireNonNull(systemMessage, "systemMessage");
        metadata = Map.copyOf(metadata);
    }

    /** The cursor for {@link ConversationStore#list} that continues after this conversation. */
    public String cursor() {
        return new ListCursor(createdAt.toEpochMilli(), id).encode();
    }
}
