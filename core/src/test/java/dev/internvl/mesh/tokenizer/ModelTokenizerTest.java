package dev.internvl.mesh.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.testing.TestData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelTokenizerTest {
    @TempDir
    static Path temp;
    /** The same tokenizer from the hub's slow-tokenizer files only (no tokenizer.json). */
    static ModelTokenizer hub;

    @BeforeAll
    static void loadHubRoute() throws IOException {
        Path dir = Files.createDirectory(temp.resolve("hub-layout"));
        for (String name : List.of("vocab.json", "merges.txt", "added_tokens.json", "tokenizer_config.json", "special_tokens_map.json")) {
            Files.copy(TestData.tokenizerDir().resolve(name), dir.resolve(name));
        }
        hub = ModelTokenizer.load(dir);
    }

    @AfterAll
    static void close() {
        hub.close();
    }

    @Test
    void encodesAndDecodesEveryTokenizerGolden() {
        ModelTokenizer tok = TestData.tokenizer();
        for (JsonNode c : TestData.tokenizerCases()) {
            String text = c.get("text").asText();
            int[] ids = TestData.ints(c.get("ids"));
            assertArrayEquals(ids, tok.encode(text), text);
            assertEquals(c.get("decoded").asText(), tok.decode(ids), text);
        }
    }

    @Test
    void hubFilesGiveTheSameIdsAsTokenizerJsonOnEveryGolden() {
        ModelTokenizer json = TestData.tokenizer();
        for (JsonNode c : TestData.tokenizerCases()) {
            String text = c.get("text").asText();
            assertArrayEquals(TestData.ints(c.get("ids")), hub.encode(text), text);
            assertEquals(c.get("decoded").asText(), hub.decode(TestData.ints(c.get("ids"))), text);
        }
        for (JsonNode c : TestData.templateCases()) {
            String prompt = c.get("expected_prompt").asText();
            int[] expected = TestData.ints(c.get("expected_input_ids"));
            assertArrayEquals(expected, hub.encode(prompt), c.get("name").asText());
            assertArrayEquals(expected, json.encode(prompt), c.get("name").asText());
        }
        assertEquals(json.vocabSize(), hub.vocabSize());
        assertEquals(json.specialTokens(), hub.specialTokens());
    }

    @Test
    void hubFilesKeepTheSpecialFlagsOfTokenizerConfig() {
        // <tool_call> (151657) is an added token that is not special; <|im_end|> is special.
        int[] ids = {151644, 9707, 151657, 151645};
        assertEquals("Hello<tool_call>", TestData.tokenizer().decode(ids, true));
        assertEquals("Hello<tool_call>", hub.decode(ids, true));
        assertEquals("<|im_start|>Hello<tool_call><|im_end|>", hub.decode(ids, false));
    }

    @Test
    void resolvesSpecialTokensByString() {
        SpecialTokens s = TestData.tokenizer().specialTokens();
        assertEquals(151665, s.imgStart());
        assertEquals(151666, s.imgEnd());
        assertEquals(151667, s.imgContext());
        assertEquals(151644, s.imStart());
        assertEquals(151645, s.imEnd());
        assertEquals(151643, s.endOfText());
        assertEquals(List.of(151645), s.stopTokenIds(), "no generation_config.json: the template separator only");
        assertTrue(s.isStop(151645));
    }

    @Test
    void addsTheEosIdsOfGenerationConfig() throws IOException {
        Path dir = copyOfTokenizerJson("gen-list");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [151644, 151645], \"do_sample\": false}");
        try (ModelTokenizer tok = ModelTokenizer.load(dir)) {
            assertEquals(List.of(151645, 151644), tok.specialTokens().stopTokenIds());
            assertTrue(tok.specialTokens().isStop(151644));
        }
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": 151643}");
        try (ModelTokenizer tok = ModelTokenizer.load(dir)) {
            assertEquals(List.of(151645, 151643), tok.specialTokens().stopTokenIds());
        }
        Files.writeString(dir.resolve("generation_config.json"), "{\"max_new_tokens\": 16}");
        try (ModelTokenizer tok = ModelTokenizer.load(dir)) {
            assertEquals(List.of(151645), tok.specialTokens().stopTokenIds());
        }
    }

    @Test
    void vocabularyAndTokenLookup() {
        ModelTokenizer tok = TestData.tokenizer();
        assertEquals(151674, tok.vocabSize());
        assertEquals(OptionalInt.of(151667), tok.tokenId("<IMG_CONTEXT>"));
        assertEquals(OptionalInt.of(279), tok.tokenId("Ġthe"));
        assertEquals(OptionalInt.of(0), tok.tokenId("!"));
        assertEquals(OptionalInt.empty(), tok.tokenId("<not a token>"));
    }

    @Test
    void doesNotTruncateLongInputs() {
        int[] ids = TestData.tokenizer().encode("<img>" + "<IMG_CONTEXT>".repeat(5000) + "</img>\nhi");
        assertEquals(5004, ids.length);
    }

    @Test
    void skipsSpecialTokensOnRequest() {
        int[] ids = TestData.tokenizer().encode("<|im_start|>assistant\nHi!<|im_end|>");
        assertEquals("assistant\nHi!", TestData.tokenizer().decode(ids, true));
        assertEquals("<|im_start|>assistant\nHi!<|im_end|>", TestData.tokenizer().decode(ids));
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        var e = assertThrows(IllegalArgumentException.class, () -> TestData.tokenizer().decode(new int[] {9707, 151674}));
        assertEquals("token id 151674 is not in the vocabulary (ids 0..151673)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TestData.tokenizer().decode(new int[] {-1}));
        assertEquals("token id -1 is not in the vocabulary (ids 0..151673)", e.getMessage());
    }

    private static Path copyOfTokenizerJson(String name) throws IOException {
        Path dir = Files.createDirectory(temp.resolve(name));
        Files.copy(TestData.tokenizerDir().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        return dir;
    }
}
