package dev.internvl.mesh.gateway.conversation;

/**
 * A turn references an image the store does not hold: never stored, or removed after it went unreferenced for
 * longer than {@link ImagePolicy#unreferencedTtl()}. Nothing was written; storing the image again and retrying
 * the append succeeds.
 */
public final class ImageNotFoundException extends ConversationStoreException {
    private final String sha256;

    public ImageNotFoundException(String sha256) {
        super("Image sha256:" + sha256 + " is not stored (it may have expired while unused); send the image again.");
        this.sha256 = sha256;
    }

    public String sha256() {
        return sha256;
    }
}
