package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;

/** Reading helpers shared by the tokenizer and template suites, whose case files live outside the manifest. */
final class TextGoldens {
    private TextGoldens() {
    }

    /** The tokenizer directory a case file names under {@code "tokenizer"}, relative to the file's folder. */
    static Path tokenizerDir(Path casesFile, JsonNode root) {
        JsonNode dir = root.get("tokenizer");
        if (dir == null || !dir.isTextual()) {
            throw new IllegalArgumentException(casesFile + ": key 'tokenizer' (the tokenizer directory) missing");
        }
        return casesFile.getParent().resolve(dir.asText());
    }

    static int[] ints(JsonNode array, String key) {
        if (array == null || !array.isArray()) {
            throw new IllegalArgumentException("key '" + key + "' must be a list of integers");
        }
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    static String text(JsonNode c, String key) {
        JsonNode v = c.get(key);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("key '" + key + "' must be a string");
        }
        return v.asText();
    }
}
