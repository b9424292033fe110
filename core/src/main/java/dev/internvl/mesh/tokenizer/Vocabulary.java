package dev.internvl.mesh.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Every token of a byte-level BPE tokenizer by id, as the library sees it: the BPE model's vocabulary plus the
 * added tokens (which win where both name the same id, as in the library). Also keeps, per id, the bytes the
 * library's ByteLevel decoder turns the token into, so text can be streamed without a native call per token.
 */
final class Vocabulary {
    /** Byte-level alphabet: the character standing for each byte in a BPE token, reversed; -1 where none. */
    private static final int[] CHAR_TO_BYTE = byteLevelAlphabet();

    private final String[] tokens;
    private final byte[][] bytes;
    private final Map<String, Integer> ids;
    private final Map<String, AddedToken> added;

    private Vocabulary(String[] tokens, Map<String, Integer> ids, Map<String, AddedToken> added) {
        this.tokens = tokens;
        this.ids = ids;
        this.added = added;
        this.bytes = new byte[tokens.length][];
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id] != null) {
                bytes[id] = decodedBytes(tokens[id]);
            }
        }
    }

    /**
     * @param model  the BPE vocabulary, token to id; taken over (added tokens are put into it)
     * @param origin the file the model vocabulary came from, for error messages
     */
    static Vocabulary of(Map<String, Integer> model, Collection<AddedToken> addedTokens, String origin) {
        int size = 0;
        for (int id : model.values()) {
            size = Math.max(size, id + 1);
        }
        for (AddedToken t : addedTokens) {
            size = Math.max(size, t.id() + 1);
        }
        String[] tokens = new String[size];
        for (var e : model.entrySet()) {
            String other = tokens[e.getValue()];
            if (other != null) {
                throw new TokenizerException(origin + ": id " + e.getValue() + " is given to both '" + other + "' and '"
                        + e.getKey() + "'");
            }
            tokens[e.getValue()] = e.getKey();
        }
        Map<String, AddedToken> added = new HashMap<>();
        for (AddedToken t : addedTokens) {
            tokens[t.id()] = t.content();
            model.put(t.content(), t.id());
            added.put(t.content(), t);
        }
        return new Vocabulary(tokens, model, added);
    }

    /** One past the largest id: the size of the model's embedding table. */
    int size() {
        return tokens.length;
    }

    /** The token of an id, or null for an id no token has. */
    String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    void checkId(int id) {
        if (token(id) == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (ids 0.." + (tokens.length - 1) + ")");
        }
    }

    Integer id(String token) {
        return ids.get(token);
    }

    Collection<AddedToken> addedTokens() {
        return added.values();
    }

    /** The added-token entry of {@code content}, or null when it is not an added token. */
    AddedToken added(String content) {
        return added.get(content);
    }

    boolean isSpecial(int id) {
        AddedToken t = added.get(tokens[id]);
        return t != null && t.special() && t.id() == id;
    }

    /** What the ByteLevel decoder makes of token {@code id}; shared, callers must not modify it. */
    byte[] bytes(int id) {
        return bytes[id];
    }

    /**
     * The library's ByteLevel decoder maps each character of a token back to its byte; a token with a character
     * outside that alphabet (possible for added tokens, e.g. one with a space) is taken as its own UTF-8 instead.
     */
    private static byte[] decodedBytes(String token) {
        byte[] out = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b < 0) {
                return token.getBytes(StandardCharsets.UTF_8);
            }
            out[i] = (byte) b;
        }
        return out;
    }

    /**
     * GPT-2's byte-to-unicode table, reversed: bytes that are printable Latin-1 stand for themselves, the other 68
     * get the characters 256, 257, ... in byte order.
     */
    private static int[] byteLevelAlphabet() {
        int[] table = new int[256 + 68];
        Arrays.fill(table, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            table[printable ? b : next++] = b;
        }
        return table;
    }
}
