package dev.internvl.mesh.gateway.conversation;

/**
 * What a {@link ConversationStore} throws besides {@link IllegalArgumentException} for malformed arguments. Each
 * subtype is one answer the HTTP API gives: not found (404), conflict (409), too large (413), image gone (409),
 * store unavailable (503). Messages are written for the API's user.
 */
public abstract sealed class ConversationStoreException extends RuntimeException
        permits ConversationNotFoundException, ConversationConflictException, ImageTooLargeException,
        ImageNotFoundException, StoreUnavailableException {

    ConversationStoreException(String message) {
        super(message);
    }

    ConversationStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
