package dev.internvl.mesh.gateway.conversation;

/** The conversation does not exist, or was deleted before the operation took effect. */
public final class ConversationNotFoundException extends ConversationStoreException {
    private final String conversationId;

    public ConversationNotFoundException(String conversationId) {
        super("No conversation with id '" + conversationId + "' exists; it may have been deleted.");
        this.conversationId = conversationId;
    }

    public String conversationId() {
        return conversationId;
    }
}
