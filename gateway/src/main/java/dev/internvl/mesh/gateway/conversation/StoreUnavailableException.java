package dev.internvl.mesh.gateway.conversation;

/**
 * The backing database failed or could not be reached. A write may or may not have taken effect; reading the
 * conversation tells. The message is meant for API users, so the details (hosts, paths) are only in the cause.
 */
public final class StoreUnavailableException extends ConversationStoreException {
    public StoreUnavailableException(Throwable cause) {
        super("Conversation storage is unavailable right now; try again shortly.", cause);
    }
}
