package dev.internvl.mesh.gateway.conversation;

/** An image, or the images one conversation holds together, would exceed a limit of the {@link ImagePolicy}. */
public final class ImageTooLargeException extends ConversationStoreException {
    private final long bytes;
    private final long limit;

    private ImageTooLargeException(String message, long bytes, long limit) {
        super(message);
        this.bytes = bytes;
        this.limit = limit;
    }

    static ImageTooLargeException image(long bytes, long limit) {
        return new ImageTooLargeException("The image is " + bytes + " bytes, over the limit of " + limit
                + " bytes per image. Send a smaller or more compressed image.", bytes, limit);
    }

    static ImageTooLargeException conversation(String conversationId, long bytes, long limit) {
        return new ImageTooLargeException("With this message, the images in conversation '" + conversationId
                + "' would total " + bytes + " bytes, over the limit of " + limit
                + " bytes per conversation. Start a new conversation or send smaller images.", bytes, limit);
    }

    /** The size that was refused: the image's, or the conversation's total with the new images. */
    public long bytes() {
        return bytes;
    }

    public long limit() {
        return limit;
    }
}
