package dev.internvl.mesh.gateway.conversation;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One exchange in a conversation: the user's content parts in the order they were sent, the assistant's answer
 * and the tokens it took. Times are kept to the millisecond, which is what the stores keep.
 */
public record Turn(List<Part> user, String assistant, Instant createdAt, Usage usage) {

    public Turn {
        user = List.copyOf(user);
        if (user.isEmpty()) {
            throw new IllegalArgumentException("a turn needs at least one user content part");
        }
        Objects.requireNonNull(assistant, "assistant");
        createdAt = createdAt.truncatedTo(ChronoUnit.MILLIS);
        Objects.requireNonNull(usage, "usage");
    }

    /** One part of the user's message. */
    public sealed interface Part permits Text, Image {
    }

    public record Text(String text) implements Part {
        public Text {
            Objects.requireNonNull(text, "text");
        }
    }

    /**
     * An image the store holds, by the lowercase hex SHA-256 of its bytes ({@link ConversationStore#putImage}),
     * with the tile limit the user set for it, if any.
     */
    public record Image(String sha256, Optional<Integer> maxDynamicPatch) implements Part {
        public Image {
            if (!Ids.isSha256(sha256)) {
                throw new IllegalArgumentException("image reference '" + sha256 + "' is not a lowercase hex SHA-256");
            }
            Objects.requireNonNull(maxDynamicPatch, "maxDynamicPatch");
        }
    }

    public record Usage(int promptTokens, int completionTokens) {
        public Usage {
            if (promptTokens < 0 || completionTokens < 0) {
                throw new IllegalArgumentException("token counts cannot be negative: " + promptTokens + ", " + completionTokens);
            }
        }
    }

    /** The distinct images this turn references, in first-use order. */
    public List<String> imageHashes() {
        return user.stream().filter(p -> p instanceof Image).map(p -> ((Image) p).sha256()).distinct().toList();
    }
}
