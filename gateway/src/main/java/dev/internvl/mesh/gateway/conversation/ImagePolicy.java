package dev.internvl.mesh.gateway.conversation;

import dev.internvl.mesh.serving.Settings;

import java.time.Duration;

/**
 * Limits on stored images, and how long an image no conversation references is kept.
 *
 * <p>Image lifetime: an image stays while any conversation references it. Once none does (stored but not yet, or
 * never, used by an appended turn; or the last conversation using it was deleted), it is kept for
 * {@code unreferencedTtl} from that moment or from its latest {@link ConversationStore#putImage}, whichever is
 * later, and then removed. The grace period is what lets a turn in flight store its images first and reference
 * them when it is appended, even while another conversation holding the same image is deleted; images of a turn
 * that failed or was cancelled go away on their own.
 *
 * @param maxImageBytes             the most bytes one image may have
 * @param maxConversationImageBytes the most bytes the distinct images of one conversation may total
 * @param unreferencedTtl           how long an unreferenced image is kept; at least a millisecond
 */
public record ImagePolicy(long maxImageBytes, long maxConversationImageBytes, Duration unreferencedTtl) {

    /** Every turn sends the conversation's images to the language tier in one gRPC message (64 MiB at most). */
    public static final ImagePolicy DEFAULT = new ImagePolicy(20L << 20, 48L << 20, Duration.ofHours(1));

    public ImagePolicy {
        if (maxImageBytes < 1 || maxConversationImageBytes < 1) {
            throw new IllegalArgumentException("image limits must be positive: " + maxImageBytes + ", " + maxConversationImageBytes);
        }
        if (unreferencedTtl.toMillis() < 1) {
            throw new IllegalArgumentException("unreferencedTtl must be at least 1 ms, not " + unreferencedTtl);
        }
    }

    /**
     * From {@code MESH_IMAGE_MAX_BYTES}, {@code MESH_CONVERSATION_IMAGE_MAX_BYTES} (sizes like {@code 20m}) and
     * {@code MESH_IMAGE_UNREFERENCED_TTL} (e.g. {@code 1h}, {@code 30m}), each defaulting to {@link #DEFAULT}'s.
     */
    public static ImagePolicy from(Settings settings) {
        return new ImagePolicy(
                settings.bytes("MESH_IMAGE_MAX_BYTES", DEFAULT.maxImageBytes),
                settings.bytes("MESH_CONVERSATION_IMAGE_MAX_BYTES", DEFAULT.maxConversationImageBytes),
                settings.duration("MESH_IMAGE_UNREFERENCED_TTL", DEFAULT.unreferencedTtl));
    }
}
