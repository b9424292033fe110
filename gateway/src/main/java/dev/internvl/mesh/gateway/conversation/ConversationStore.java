package dev.internvl.mesh.gateway.conversation;

import java.util.Map;
import java.util.Optional;

/**
 * Durable server-side conversations and the images their turns reference. Implementations are safe for use from
 * many threads; every method is one atomic step against the backing database.
 *
 * <p>A turn is appended only once it has finished: a turn that fails or is cancelled never calls
 * {@link #appendTurn}, and two turns racing on the same conversation cannot both land, because each names the
 * turn count it was built on.
 *
 * <p>Images are stored once per content (by SHA-256) and shared between conversations; see {@link ImagePolicy}
 * for their limits and when unreferenced ones are removed.
 *
 * <p>Malformed arguments (a bad cursor, a limit out of range) throw {@link IllegalArgumentException}; everything
 * else a caller should handle is a {@link ConversationStoreException}.
 */
public interface ConversationStore extends AutoCloseable {

    /** The most conversations one {@link #list} call returns. */
    int MAX_PAGE_SIZE = 1000;

    /** Creates an empty conversation with a new unguessable id and the current time. */
    Conversation create(Optional<String> systemMessage, Map<String, String> metadata);

    /** The conversation with all its turns, or empty if there is none with that id (including malformed ids). */
    Optional<Conversation> get(String id);

    /**
     * Conversations newest first, without their turns.
     *
     * @param limit  how many, 1 to {@link #MAX_PAGE_SIZE}
     * @param cursor the previous page's {@link ConversationPage#nextCursor()}, or empty for the first page
     */
    ConversationPage list(int limit, Optional<String> cursor);

    /**
     * Deletes a conversation and its turns, and releases its images (see {@link ImagePolicy}).
     *
     * @return whether it existed
     */
    boolean delete(String id);

    /**
     * Appends a turn, provided the conversation still has {@code expectedTurnCount} turns. Every image the turn
     * references must have been stored with {@link #putImage}. Nothing is written when this throws.
     *
     * @return the conversation's turn count with this turn
     * @throws ConversationNotFoundException  if the conversation does not exist (or was deleted meanwhile)
     * @throws ConversationConflictException  if its turn count is no longer {@code expectedTurnCount}
     * @throws ImageNotFoundException         if a referenced image is not stored
     * @throws ImageTooLargeException         if the conversation's distinct images would exceed
     *                                        {@link ImagePolicy#maxConversationImageBytes()}
     */
    int appendTurn(String conversationId, int expectedTurnCount, Turn turn);

    /**
     * Stores an image, once per content: storing the same bytes again returns the same hash and refreshes an
     * unreferenced image's time to live.
     *
     * @return the lowercase hex SHA-256 of {@code bytes}, for {@link Turn.Image}
     * @throws ImageTooLargeException if it exceeds {@link ImagePolicy#maxImageBytes()}
     */
    String putImage(byte[] bytes);

    /** The image's bytes, or empty if it is not stored (or the hash is malformed). */
    Optional<byte[]> getImage(String sha256);

    /** Releases connections and files; the data stays. */
    @Override
    void close();
}
