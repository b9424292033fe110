package dev.internvl.mesh.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns generated token ids into text as they arrive. A byte-level token can end in the middle of a UTF-8
 * character (an emoji is often split over three tokens), so the bytes of an incomplete character are held back
 * until the token that completes it. The pieces put together equal {@link ModelTokenizer#decode} of all the ids.
 * Not thread-safe: one per generation.
 */
public final class StreamDecoder {
    private final Vocabulary vocab;
    private final boolean skipSpecialTokens;
    private byte[] pending = new byte[16];
    private int pendingLength;

    StreamDecoder(Vocabulary vocab, boolean skipSpecialTokens) {
        this.vocab = vocab;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Adds the next token; returns the text it completes, empty while a character is still incomplete. */
    public String next(int id) {
        vocab.checkId(id);
        if (skipSpecialTokens && vocab.isSpecial(id)) {
            return "";
        }
        byte[] b = vocab.bytes(id);
        if (pendingLength + b.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(2 * pending.length, pendingLength + b.length));
        }
        System.arraycopy(b, 0, pending, pendingLength, b.length);
        pendingLength += b.length;
        int complete = completeLength(pending, pendingLength);
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, pendingLength - complete);
        pendingLength -= complete;
        return text;
    }

    /** Ends the stream: bytes of a character that never completed come out as U+FFFD, as a whole decode gives. */
    public String finish() {
        String text = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
        pendingLength = 0;
        return text;
    }

    /**
     * How many of the first {@code length} bytes can be decoded now: all of them, unless they end in a proper
     * prefix of a well-formed UTF-8 sequence, which the next bytes may complete. Anything else (ASCII, a complete
     * character, bytes no continuation can make valid) decodes the same now as later, invalid bytes to U+FFFD.
     */
    static int completeLength(byte[] bytes, int length) {
        for (int back = 1; back <= 3 && back <= length; back++) {
            int start = length - back;
            int b = bytes[start] & 0xFF;
            if (b < 0x80) {
                return length;
            }
            if (b >= 0xC0) {
                int need = sequenceLength(b);
                return need > back && validPrefix(bytes, start, length) ? start : length;
            }
            // a continuation byte: its lead is further back
        }
        return length;
    }

    /** Bytes of the sequence a lead byte starts; 0 for bytes that never lead (C0, C1, F5..FF). */
    private static int sequenceLength(int lead) {
        if (lead >= 0xC2 && lead <= 0xDF) {
            return 2;
        }
        if (lead >= 0xE0 && lead <= 0xEF) {
            return 3;
        }
        return lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
    }

    /**
     * Whether the second byte is allowed after this lead (Unicode table 3-7: no overlong forms, surrogates or
     * code points past U+10FFFF); bytes after it were already seen to be continuation bytes.
     */
    private static boolean validPrefix(byte[] bytes, int start, int length) {
        if (length - start < 2) {
            return true;
        }
        int lead = bytes[start] & 0xFF;
        int second = bytes[start + 1] & 0xFF;
        return switch (lead) {
            case 0xE0 -> second >= 0xA0;
            case 0xED -> second <= 0x9F;
            case 0xF0 -> second >= 0x90;
            case 0xF4 -> second <= 0x8F;
            default -> true;
        };
    }
}
