package dev.internvl.mesh.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the small JSON files of a tokenizer directory, naming the file in every error. */
final class JsonFiles {
    static final ObjectMapper JSON = new ObjectMapper();

    private JsonFiles() {
    }

    static JsonNode readObject(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new TokenizerException(file + ": " + describe(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new TokenizerException(file + ": expected a JSON object");
        }
        return root;
    }

    /** "not valid JSON: <what> at line L, column C" without Jackson's multi-line source excerpt. */
    static String describe(IOException e) {
        if (e instanceof JsonProcessingException j) {
            var at = j.getLocation();
            return "not valid JSON: " + j.getOriginalMessage()
                    + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr());
        }
        return "cannot read: " + e;
    }

    /** A boolean flag of an added-token entry; absent means {@code fallback}. */
    static boolean flag(JsonNode entry, String key, boolean fallback, Path file, String where) {
        JsonNode v = entry.get(key);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw new TokenizerException(file + ": key '" + where + "." + key + "' must be true or false, got " + v);
        }
        return v.asBoolean();
    }
}
