package dev.internvl.mesh.image;

/**
 * An image that cannot be used as sent: empty, of a format we do not read, truncated or corrupt, or over a size
 * limit. The message says which, in words a user can act on (it reaches API clients as is).
 */
public class ImageException extends RuntimeException {
    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
