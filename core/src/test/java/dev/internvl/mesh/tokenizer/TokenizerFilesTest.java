package dev.internvl.mesh.tokenizer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Both loading routes on a small tokenizer, and every way its files can be broken. */
class TokenizerFilesTest {
    @TempDir
    Path temp;

    @Test
    void bothRoutesTokeniseAlike() throws IOException {
        try (ModelTokenizer hub = ModelTokenizer.load(TinyTokenizer.writeHub(temp.resolve("hub")));
             ModelTokenizer json = ModelTokenizer.load(TinyTokenizer.writeTokenizerJson(temp.resolve("json")))) {
            String text = "<|im_start|>hello world<img><IMG_CONTEXT></img>\nhello<|im_end|>";
            int[] ids = {102, 99, 100, 78, 81, 75, 67, 104, 106, 105, 95, 99, 103};
            assertArrayEquals(ids, hub.encode(text));
            assertArrayEquals(ids, json.encode(text));
            assertEquals(text, hub.decode(ids));
            assertEquals("hello world\nhello", json.decode(ids, true));
            assertEquals(107, hub.vocabSize());
            assertEquals(new SpecialTokens(104, 105, 106, 102, 103, 101, List.of(103)), hub.specialTokens());
            assertEquals(hub.specialTokens(), json.specialTokens());
        }
    }

    @Test
    void addedTokensOnlyInAddedTokensJsonAreSpecialWhenTheSpecialTokenKeysNameThem() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("legacy"));
        Files.delete(dir.resolve("tokenizer_config.json"));
        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"eos_token\": \"<|im_end|>\", \"additional_special_tokens\": "
                + "[\"<|im_start|>\", {\"content\": \"<img>\"}, \"</img>\", \"<IMG_CONTEXT>\"], \"pad_token\": null}");
        try (ModelTokenizer tok = ModelTokenizer.load(dir)) {
            int[] ids = tok.encode("<|im_start|>hello<|endoftext|><img><|im_end|>");
            assertArrayEquals(new int[] {102, 99, 101, 104, 103}, ids);
            assertEquals("hello<|endoftext|>", tok.decode(ids, true));
        }
    }

    /** The library's ByteLevel decoder takes a token with a character outside its alphabet as plain UTF-8. */
    @Test
    void streamsAddedTokensOutsideTheByteLevelAlphabetLikeTheLibrary() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("odd"));
        Files.writeString(dir.resolve("added_tokens.json"), "{\"<a b>\": 107, \"café\": 108, \"日本\": 109}");
        try (ModelTokenizer tok = ModelTokenizer.load(dir)) {
            for (int[] ids : new int[][] {{107, 99}, {108}, {109, 108, 107}, {99, 108, 99}}) {
                StreamDecoder d = tok.streamDecoder(false);
                StringBuilder text = new StringBuilder();
                for (int id : ids) {
                    text.append(d.next(id));
                }
                assertEquals(tok.decode(ids), text.append(d.finish()).toString());
            }
            assertEquals("<a b>", tok.decode(new int[] {107}));
        }
    }

    @Test
    void notADirectory() {
        Path missing = temp.resolve("nope");
        assertError(missing + ": not a directory", missing);
    }

    @Test
    void noTokenizerFiles() throws IOException {
        Path dir = Files.createDirectory(temp.resolve("empty"));
        assertError(dir + ": no tokenizer files: expected tokenizer.json, or vocab.json + merges.txt"
                + " (+ added_tokens.json, tokenizer_config.json)", dir);
        Files.writeString(dir.resolve("tokenizer.model"), "sentencepiece");
        assertError(dir + ": no tokenizer files: expected tokenizer.json, or vocab.json + merges.txt"
                + " (+ added_tokens.json, tokenizer_config.json); tokenizer.model (SentencePiece, as in the"
                + " InternLM2-based models) is not supported", dir);
    }

    @Test
    void vocabWithoutMerges() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("t"));
        Files.delete(dir.resolve("merges.txt"));
        assertError(dir.resolve("merges.txt") + ": missing: vocab.json needs the merges.txt beside it (or ship tokenizer.json)", dir);
    }

    @Test
    void mergesWithoutVocab() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("t"));
        Files.delete(dir.resolve("vocab.json"));
        assertError(dir.resolve("vocab.json") + ": missing: merges.txt needs the vocab.json beside it (or ship tokenizer.json)", dir);
    }

    @Test
    void corruptTokenizerJson() throws IOException {
        Path dir = TinyTokenizer.writeTokenizerJson(temp.resolve("t"));
        Path file = dir.resolve("tokenizer.json");
        String whole = Files.readString(file);
        Files.writeString(file, whole.substring(0, whole.length() / 2));
        String message = loadError(dir);
        assertTrue(message.startsWith(file + ": not valid JSON: Unexpected end-of-input"), message);
        assertTrue(message.matches(".* at line 1, column \\d+$"), message);

        Files.writeString(file, "[]");
        assertError(file + ": expected a JSON object", dir);
    }

    @Test
    void tokenizerJsonTheLibraryRejects() throws IOException {
        Path dir = TinyTokenizer.writeTokenizerJson(temp.resolve("t"));
        Path file = dir.resolve("tokenizer.json");
        ObjectNode json = TinyTokenizer.readTree(file);
        json.withObject("model").withArray("merges").addArray().add("x").add("zz");
        TinyTokenizer.write(file, json);
        String message = loadError(dir);
        assertTrue(message.startsWith(file + ": rejected by the HF tokenizers library: "), message);
    }

    @Test
    void tokenizerJsonThatIsNotByteLevelBpe() throws IOException {
        Path dir = TinyTokenizer.writeTokenizerJson(temp.resolve("t"));
        Path file = dir.resolve("tokenizer.json");
        ObjectNode json = TinyTokenizer.readTree(file);
        json.putObject("decoder").put("type", "WordPiece");
        TinyTokenizer.write(file, json);
        assertError(file + ": key 'decoder.type' is 'WordPiece', but only byte-level BPE tokenizers (Qwen2, decoder ByteLevel) are supported", dir);

        json.remove("decoder");
        TinyTokenizer.write(file, json);
        assertError(file + ": key 'decoder.type' is missing, but only byte-level BPE tokenizers (Qwen2, decoder ByteLevel) are supported", dir);

        json.putObject("decoder").put("type", "ByteLevel");
        json.withObject("model").remove("vocab");
        TinyTokenizer.write(file, json);
        assertError(file + ": key 'model.vocab' missing", dir);

        json.withObject("model").putArray("vocab");
        TinyTokenizer.write(file, json);
        assertError(file + ": key 'model.vocab' must be an object of token -> id", dir);

        json.withObject("model").putObject("vocab").put("a", "x");
        TinyTokenizer.write(file, json);
        assertError(file + ": key 'model.vocab': token 'a' has id x, expected a non-negative integer", dir);
    }

    @Test
    void tokenizerJsonWithBadAddedTokens() throws IOException {
        Path dir = TinyTokenizer.writeTokenizerJson(temp.resolve("t"));
        Path file = dir.resolve("tokenizer.json");
        ObjectNode json = TinyTokenizer.readTree(file);
        ((ObjectNode) json.withArray("added_tokens").get(1)).put("id", -3);
        TinyTokenizer.write(file, json);
        assertError(file + ": key 'added_tokens[1].id' must be a non-negative integer, got -3", dir);

        ((ObjectNode) json.withArray("added_tokens").get(1)).put("id", 201).put("special", "yes");
        TinyTokenizer.write(file, json);
        assertError(file + ": key 'added_tokens[1].special' must be true or false, got \"yes\"", dir);

        ((ObjectNode) json.withArray("added_tokens").get(1)).put("special", true).remove("content");
        TinyTokenizer.write(file, json);
        assertError(file + ": key 'added_tokens[1].content' must be a non-empty string, got null", dir);
    }

    @Test
    void malformedVocabJson() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("t"));
        Path file = dir.resolve("vocab.json");
        Files.writeString(file, "{\"a\": 0, \"b\": 1.5}");
        assertError(file + ": token 'b' has id 1.5, expected a non-negative integer", dir);
        Files.writeString(file, "[\"a\"]");
        assertError(file + ": expected a JSON object of token -> id", dir);
        Files.writeString(file, "{\"a\": 0, \"b\": 0}");
        Files.writeString(dir.resolve("merges.txt"), "");
        String message = loadError(dir);
        assertTrue(message.equals(file + ": id 0 is given to both 'a' and 'b'") || message.equals(file + ": id 0 is given to both 'b' and 'a'"), message);
    }

    @Test
    void malformedMergesTxt() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("t"));
        Path file = dir.resolve("merges.txt");
        Files.writeString(file, "#version: 0.2\nh e\n\nl l x\n");
        assertError(file + ":4: expected two tokens separated by one space, got 'l l x'", dir);
        Files.writeString(file, "h e\nh q\n");
        assertError(file + ":2: merge 'h q' needs the token 'hq', which vocab.json does not have", dir);
        Files.writeString(file, "é e\n");
        assertError(file + ":1: merge 'é e' needs the token 'é', which vocab.json does not have", dir);
        Files.write(file, new byte[] {'h', ' ', (byte) 0xFF, '\n'});
        assertTrue(loadError(dir).startsWith(file + ": cannot read as UTF-8 text: "));
    }

    @Test
    void malformedAddedTokensJson() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("t"));
        Path file = dir.resolve("added_tokens.json");
        Files.writeString(file, "{\"<img>\": 104,");
        assertTrue(loadError(dir).startsWith(file + ": not valid JSON: "), loadError(dir));
        Files.writeString(file, "[\"<img>\"]");
        assertError(file + ": expected a JSON object", dir);
        Files.writeString(file, "{\"<img>\": \"104\"}");
        assertError(file + ": token '<img>' has id \"104\", expected a non-negative integer", dir);
        Files.writeString(file, "{\"<img>\": 7}");
        assertError(file + ": token '<img>' has id 7, but tokenizer_config.json's added_tokens_decoder gives it 104", dir);
    }

    @Test
    void malformedTokenizerConfig() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("t"));
        Path file = dir.resolve("tokenizer_config.json");
        ObjectNode config = TinyTokenizer.readTree(file);
        config.withObject("added_tokens_decoder").putObject("x1").put("content", "<x>");
        TinyTokenizer.write(file, config);
        assertError(file + ": key 'added_tokens_decoder.x1': the key must be a non-negative integer id", dir);

        config.withObject("added_tokens_decoder").remove("x1");
        config.withObject("added_tokens_decoder").withObject("104").put("rstrip", 1);
        TinyTokenizer.write(file, config);
        assertError(file + ": key 'added_tokens_decoder.104.rstrip' must be true or false, got 1", dir);

        config.withObject("added_tokens_decoder").put("104", "<img>");
        TinyTokenizer.write(file, config);
        assertError(file + ": key 'added_tokens_decoder.104' must be an object, got \"<img>\"", dir);

        config.withObject("added_tokens_decoder").removeAll();
        config.put("eos_token", 5);
        TinyTokenizer.write(file, config);
        assertError(file + ": key 'eos_token' must be a string or an object with a string 'content', got 5", dir);

        Path map = dir.resolve("special_tokens_map.json");
        config.put("eos_token", "<|im_end|>");
        TinyTokenizer.write(file, config);
        Files.writeString(map, "{\"additional_special_tokens\": \"<img>\"}");
        assertError(map + ": key 'additional_special_tokens' must be a list", dir);
    }

    @Test
    void missingSpecialToken() throws IOException {
        Path hub = TinyTokenizer.writeHub(temp.resolve("hub"));
        Files.writeString(hub.resolve("added_tokens.json"), "{\"<|im_start|>\": 102}");
        Files.writeString(hub.resolve("tokenizer_config.json"), "{}");
        assertError(hub.resolve("added_tokens.json") + ": no token '<|im_end|>' (InternVL 2.5 prompts need <img>, </img>,"
                + " <IMG_CONTEXT>, <|im_start|>, <|im_end|>, <|endoftext|>)", hub);

        Path json = TinyTokenizer.writeTokenizerJson(temp.resolve("json"));
        Path file = json.resolve("tokenizer.json");
        ObjectNode tree = TinyTokenizer.readTree(file);
        tree.withArray("added_tokens").remove(5); // <IMG_CONTEXT>
        TinyTokenizer.write(file, tree);
        assertError(file + ": no token '<IMG_CONTEXT>' (InternVL 2.5 prompts need <img>, </img>, <IMG_CONTEXT>,"
                + " <|im_start|>, <|im_end|>, <|endoftext|>)", json);
    }

    @Test
    void imageTokensMustBePlainAddedTokens() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("t"));
        Path config = dir.resolve("tokenizer_config.json");
        ObjectNode tree = TinyTokenizer.readTree(config);
        tree.withObject("added_tokens_decoder").withObject("105").put("rstrip", true);
        TinyTokenizer.write(config, tree);
        assertError(dir.resolve("added_tokens.json") + ": '</img>' must be an added token without lstrip, rstrip or"
                + " single_word, so that it never changes how the text around an image tokenises", dir);

        // <img> only in the BPE vocabulary: BPE would split the string "<img>" in text
        Map<String, Integer> vocab = TinyTokenizer.vocab();
        vocab.put("<img>", vocab.size());
        TinyTokenizer.write(dir.resolve("vocab.json"), vocab);
        Files.delete(config);
        Files.writeString(dir.resolve("added_tokens.json"),
                "{\"<|endoftext|>\": 102, \"<|im_start|>\": 103, \"<|im_end|>\": 104, \"</img>\": 105, \"<IMG_CONTEXT>\": 106}");
        assertError(dir.resolve("added_tokens.json") + ": '<img>' must be an added token without lstrip, rstrip or"
                + " single_word, so that it never changes how the text around an image tokenises", dir);
    }

    @Test
    void addedTokenIdsTheLibraryWouldRenumber() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("t"));
        Files.delete(dir.resolve("tokenizer_config.json"));
        Files.writeString(dir.resolve("added_tokens.json"), "{\"<|endoftext|>\": 101, \"<|im_start|>\": 102,"
                + " \"<|im_end|>\": 103, \"<img>\": 104, \"</img>\": 105, \"<IMG_CONTEXT>\": 150}");
        assertError(dir.resolve("added_tokens.json") + ": added token '<IMG_CONTEXT>' has id 150, but the HF tokenizers"
                + " library encodes it as [106] (it numbers added tokens missing from the BPE vocabulary on from the"
                + " vocabulary's end, without gaps)", dir);
    }

    @Test
    void malformedGenerationConfig() throws IOException {
        Path dir = TinyTokenizer.writeHub(temp.resolve("t"));
        Path file = dir.resolve("generation_config.json");
        Files.writeString(file, "{\"eos_token_id\": \"<|im_end|>\"}");
        assertError(file + ": key 'eos_token_id' must be an integer or a list of integers, got \"<|im_end|>\"", dir);
        Files.writeString(file, "{\"eos_token_id\": [103, 1.5]}");
        assertError(file + ": key 'eos_token_id' must be an integer or a list of integers, got [103,1.5]", dir);
        Files.writeString(file, "{\"eos_token_id\": [103, 107]}");
        assertError(file + ": key 'eos_token_id': 107 is not a token id (the vocabulary has 107 ids)", dir);
        Files.writeString(file, "{\"eos_token_id\": 103");
        assertTrue(loadError(dir).startsWith(file + ": not valid JSON: "), loadError(dir));
    }

    private static String loadError(Path dir) {
        return assertThrows(TokenizerException.class, () -> ModelTokenizer.load(dir).close()).getMessage();
    }

    private static void assertError(String expected, Path dir) {
        assertEquals(expected, loadError(dir));
    }
}
