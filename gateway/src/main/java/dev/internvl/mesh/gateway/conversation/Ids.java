package dev.internvl.mesh.gateway.conversation;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** Conversation ids and image hashes, shared by the stores. */
final class Ids {
    private static final String BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static final int RANDOM_CHARS = 24; // about 143 bits
    private static final Pattern CONVERSATION_ID = Pattern.compile("conv_[0-9A-Za-z]{" + RANDOM_CHARS + "}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    static String newConversationId() {
        StringBuilder id = new StringBuilder("conv_");
        for (int i = 0; i < RANDOM_CHARS; i++) {
            id.append(BASE62.charAt(RANDOM.nextInt(BASE62.length())));
        }
        return id.toString();
    }

    /** Whether {@code id} has the form this class gives ids; anything else cannot name a stored conversation. */
    static boolean isConversationId(String id) {
        return id != null && CONVERSATION_ID.matcher(id).matches();
    }

    static boolean isSha256(String hash) {
        return hash != null && SHA256.matcher(hash).matches();
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
