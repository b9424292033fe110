package dev.internvl.mesh.gateway.conversation;

/**
 * A turn was appended on top of a conversation that has changed since the caller read it: another turn landed
 * first. Nothing was written.
 */
public final class ConversationConflictException extends ConversationStoreException {
    private final String conversationId;
    private final int expectedTurnCount;
    private final int actualTurnCount;

    public ConversationConflictException(String conversationId, int expectedTurnCount, int actualTurnCount) {
        super("Conversation '" + conversationId + "' now has " + actualTurnCount + " turns, not the "
                + expectedTurnCount + " this turn was based on: another request added a turn meanwhile. "
                + "Fetch the conversation and send the message again.");
        this.conversationId = conversationId;
        this.expectedTurnCount = expectedTurnCount;
        this.actualTurnCount = actualTurnCount;
    }

    public String conversationId() {
        return conversationId;
    }

    public int expectedTurnCount() {
        return expectedTurnCount;
    }

    public int actualTurnCount() {
        return actualTurnCount;
    }
}
