package dev.internvl.mesh.gateway.conversation;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** A stored conversation with all its turns, oldest first. Metadata is empty when the client set none. */
public record Conversation(String id, Instant createdAt, Optional<String> systemMessage, Map<String, String> metadata,
                           List<Turn> turns) {

    public Conversation {
        Objects.requireNonNull(id, "id");
        createdAt = createdAt.truncatedTo(ChronoUnit.MILLIS);
        Objects.requireNonNull(systemMessage, "systemMessage");
        metadata = Map.copyOf(metadata);
        turns = List.copyOf(turns);
    }

    public ConversationSummary summary() {
        return new ConversationSummary(id, createdAt, systemMessage, metadata, turns.size());
    }
}
