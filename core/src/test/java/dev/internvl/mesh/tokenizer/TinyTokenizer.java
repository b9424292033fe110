package dev.internvl.mesh.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A small byte-level BPE tokenizer written to a directory, in the hub layout or as tokenizer.json: printable ASCII,
 * "Ġ" (space) and "Ċ" (newline), five merges spelling "hello" and " w" (ids 0..100), and the six tokens InternVL
 * needs (101..106).
 */
final class TinyTokenizer {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String MERGES = "#version: 0.2\nh e\nl l\nhe ll\nhell o\nĠ w\n";
    /** The added tokens as tokenizer_config.json's added_tokens_decoder lists them. */
    static final Map<String, Integer> ADDED = Map.of(
            "<|endoftext|>", 101, "<|im_start|>", 102, "<|im_end|>", 103, "<img>", 104, "</img>", 105, "<IMG_CONTEXT>", 106);

    private TinyTokenizer() {
    }

    static Map<String, Integer> vocab() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (char c = '!'; c <= '~'; c++) {
            vocab.put(String.valueOf(c), vocab.size());
        }
        for (String t : new String[] {"Ġ", "Ċ", "he", "ll", "hell", "hello", "Ġw"}) {
            vocab.put(t, vocab.size());
        }
        return vocab;
    }

    /** vocab.json, merges.txt, added_tokens.json, tokenizer_config.json and special_tokens_map.json. */
    static Path writeHub(Path dir) throws IOException {
        Files.createDirectories(dir);
        JSON.writeValue(dir.resolve("vocab.json").toFile(), vocab());
        Files.writeString(dir.resolve("merges.txt"), MERGES);
        JSON.writeValue(dir.resolve("added_tokens.json").toFile(), ADDED);
        ObjectNode config = JSON.createObjectNode();
        ObjectNode decoder = config.putObject("added_tokens_decoder");
        ADDED.forEach((content, id) -> decoder.putObject(String.valueOf(id))
                .put("content", content).put("lstrip", false).put("normalized", false).put("rstrip", false)
                .put("single_word", false).put("special", true));
        config.put("eos_token", "<|im_end|>");
        JSON.writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
        Files.writeString(dir.resolve("special_tokens_map.json"),
                "{\"eos_token\": {\"content\": \"<|im_end|>\"}, \"pad_token\": \"<|endoftext|>\"}");
        return dir;
    }

    /** The same tokenizer as a lone tokenizer.json. */
    static Path writeTokenizerJson(Path dir) throws IOException {
        Path hub = writeHub(dir.resolveSibling(dir.getFileName() + "-hub"));
        Files.createDirectories(dir);
        Files.write(dir.resolve("tokenizer.json"), HubTokenizerFiles.build(hub).tokenizerJson());
        return dir;
    }

    static ObjectNode readTree(Path file) throws IOException {
        return (ObjectNode) JSON.readTree(file.toFile());
    }

    static void write(Path file, Object json) throws IOException {
        JSON.writeValue(file.toFile(), json);
    }
}
