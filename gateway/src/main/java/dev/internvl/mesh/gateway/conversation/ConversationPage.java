package dev.internvl.mesh.gateway.conversation;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One page of a listing, newest first. {@code nextCursor} is present when more conversations follow; pass it to
 * {@link ConversationStore#list} for the next page. It stays valid even if the conversation it came from is
 * deleted.
 */
public record ConversationPage(List<ConversationSummary> conversations, Optional<String> nextCursor) {
    public ConversationPage {
        conversations = List.copyOf(conversations);
        Objects.requireNonNull(nextCursor, "nextCursor");
    }
}
