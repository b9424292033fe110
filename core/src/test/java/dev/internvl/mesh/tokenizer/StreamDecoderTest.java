package dev.internvl.mesh.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.testing.TestData;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class StreamDecoderTest {
    private final ModelTokenizer tok = TestData.tokenizer();

    @Test
    void emojiSplitOverByteLevelTokensComesOutWhole() {
        JsonNode emoji = TestData.tokenizerCases().stream()
                .filter(c -> c.get("text").asText().startsWith("emoji")).findFirst().orElseThrow();
        StreamDecoder d = tok.streamDecoder(false);
        List<String> pieces = new ArrayList<>();
        for (int id : TestData.ints(emoji.get("ids"))) {
            pieces.add(d.next(id));
        }
        pieces.add(d.finish());
        // " 🐼" is 20 F0 9F 90 BC over the tokens 11162 (20 F0 9F), 238 (90) and 120 (BC).
        assertEquals(List.of("emoji", " ", "", "🐼", "🎋", " and", " flags", " ", "", "🇨", "🇳", " and",
                " Z", "W", "J", " ", "👩", "", "\u200D", "💻", ""), pieces);
        assertEquals(emoji.get("decoded").asText(), String.join("", pieces));
        for (String piece : pieces) {
            assertFalse(piece.contains("\uFFFD"), piece);
        }
    }

    @Test
    void piecesJoinToTheWholeDecodeOnEveryGolden() {
        for (JsonNode c : TestData.tokenizerCases()) {
            assertEquals(c.get("decoded").asText(), streamed(TestData.ints(c.get("ids")), false));
        }
    }

    /** Random ids make every kind of broken UTF-8; the pieces must still join to exactly what the library decodes. */
    @Test
    void piecesJoinToTheLibraryDecodeForRandomIds() {
        SplittableRandom random = new SplittableRandom(42);
        for (int round = 0; round < 300; round++) {
            int[] ids = new int[1 + random.nextInt(40)];
            for (int i = 0; i < ids.length; i++) {
                // mostly the multi-byte end of the vocabulary, some special tokens
                ids[i] = random.nextInt(10) == 0 ? 151643 + random.nextInt(31) : 100_000 + random.nextInt(51_643);
            }
            assertEquals(tok.decode(ids, false), streamed(ids, false));
            assertEquals(tok.decode(ids, true), streamed(ids, true));
        }
    }

    @Test
    void skipsSpecialTokensOnRequest() {
        int[] ids = tok.encode("<|im_start|>assistant\n你好<|im_end|>");
        assertEquals("assistant\n你好", streamed(ids, true));
        assertEquals("<|im_start|>assistant\n你好<|im_end|>", streamed(ids, false));
    }

    @Test
    void finishFlushesAnIncompleteCharacterAsReplacement() {
        StreamDecoder d = tok.streamDecoder(false);
        assertEquals(" ", d.next(11162)); // " " + the first two bytes of 🐼
        assertEquals("\uFFFD", d.finish());
        assertEquals(tok.decode(new int[] {11162}), " \uFFFD");
        assertEquals("", d.finish());
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        var e = assertThrows(IllegalArgumentException.class, () -> tok.streamDecoder(false).next(200_000));
        assertEquals("token id 200000 is not in the vocabulary (ids 0..151673)", e.getMessage());
    }

    @Test
    void holdsOnlyProperPrefixesOfWellFormedSequences() {
        assertEquals(0, StreamDecoder.completeLength(bytes(0xE4, 0xB8), 2), "2 of 3 bytes of 中");
        assertEquals(3, StreamDecoder.completeLength(bytes(0xE4, 0xB8, 0xAD), 3), "all of 中");
        assertEquals(1, StreamDecoder.completeLength(bytes('a', 0xF0, 0x9F, 0x90), 4), "3 of 4 bytes of an emoji");
        assertEquals(2, StreamDecoder.completeLength(bytes(0xE0, 0x80), 2), "E0 80 is overlong: never valid");
        assertEquals(2, StreamDecoder.completeLength(bytes(0xED, 0xA0), 2), "a surrogate: never valid");
        assertEquals(2, StreamDecoder.completeLength(bytes(0xF4, 0x90), 2), "past U+10FFFF: never valid");
        assertEquals(1, StreamDecoder.completeLength(bytes(0xC0), 1), "C0 never leads");
        assertEquals(1, StreamDecoder.completeLength(bytes(0x80), 1), "a stray continuation byte");
        assertEquals(4, StreamDecoder.completeLength(bytes(0x80, 0x80, 0x80, 0x80), 4));
        assertEquals(0, StreamDecoder.completeLength(bytes(0xF0), 1));
    }

    private String streamed(int[] ids, boolean skipSpecialTokens) {
        StreamDecoder d = tok.streamDecoder(skipSpecialTokens);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            out.append(d.next(id));
        }
        return out.append(d.finish()).toString();
    }

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }
}
