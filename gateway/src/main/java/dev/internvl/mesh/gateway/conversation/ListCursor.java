package dev.internvl.mesh.gateway.conversation;

import java.util.List;
import java.util.Optional;

/**
 * Where a listing stopped: the last conversation returned, by creation time and id. Listings order by newest
 * first, then by id, so a cursor names a position even after its conversation is deleted.
 */
record ListCursor(long createdMillis, String id) {

    /** Only digits, letters and underscores, so it is safe in a URL as is. */
    String encode() {
        return createdMillis + "_" + id;
    }

    static ListCursor decode(String cursor) {
        int split = cursor.indexOf('_');
        if (split > 0) {
            String id = cursor.substring(split + 1);
            try {
                long millis = Long.parseLong(cursor.substring(0, split));
                if (millis >= 0 && Ids.isConversationId(id)) {
                    return new ListCursor(millis, id);
                }
            } catch (NumberFormatException e) {
                // falls through to the error below
            }
        }
        throw new IllegalArgumentException("'" + cursor + "' is not a cursor this server returned; "
                + "use the next cursor of the previous page, or none for the first page.");
    }

    static void checkLimit(int limit) {
        if (limit < 1 || limit > ConversationStore.MAX_PAGE_SIZE) {
            throw new IllegalArgumentException("limit must be between 1 and " + ConversationStore.MAX_PAGE_SIZE + ", not " + limit);
        }
    }

    /** The first {@code limit} of {@code fetched} (which holds up to one more), with a cursor if there are more. */
    static ConversationPage page(List<ConversationSummary> fetched, int limit) {
        if (fetched.size() <= limit) {
            return new ConversationPage(fetched, Optional.empty());
        }
        List<ConversationSummary> page = fetched.subList(0, limit);
        return new ConversationPage(page, Optional.of(page.getLast().cursor()));
    }
}
