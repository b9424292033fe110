package dev.internvl.mesh.tokenizer;

/**
 * Tokenizer files that cannot be used as they are: the message names the file and, where one is at fault, the key,
 * line or token, so a user can tell which download is broken.
 */
public class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
