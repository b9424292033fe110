package dev.internvl.mesh.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.tokenizer.ModelTokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The repository's copy of the golden set ({@code testdata/golden}), and the real tokenizer loaded once per JVM. */
public final class TestData {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ModelTokenizer tokenizer;

    private TestData() {
    }

    public static Path golden() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path golden = dir.resolve("testdata/golden");
            if (Files.isDirectory(golden)) {
                return golden;
            }
        }
        throw new IllegalStateException("testdata/golden not found above " + Path.of("").toAbsolutePath());
    }

    public static Path tokenizerDir() {
        return golden().resolve("tokenizer/internvl2_5-qwen2");
    }

    /** The InternVL 2.5 tokenizer from its tokenizer.json; shared, never closed. */
    public static synchronized ModelTokenizer tokenizer() {
        if (tokenizer == null) {
            tokenizer = ModelTokenizer.load(tokenizerDir());
        }
        return tokenizer;
    }

    public static JsonNode json(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<JsonNode> tokenizerCases() {
        return list(json(golden().resolve("tokenizer/cases.json")).get("cases"));
    }

    public static List<JsonNode> templateCases() {
        return list(json(golden().resolve("template/cases.json")).get("cases"));
    }

    public static List<JsonNode> list(JsonNode array) {
        List<JsonNode> out = new ArrayList<>();
        array.forEach(out::add);
        return out;
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
