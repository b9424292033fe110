package dev.internvl.mesh.checkpoint;

/**
 * A checkpoint that cannot be used as it is: the message names the file and, where one is at fault, the tensor or
 * config key, so a user can tell which download is broken.
 */
public class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
