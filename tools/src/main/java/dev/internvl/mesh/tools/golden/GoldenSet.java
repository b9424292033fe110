package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.checkpoint.SafetensorsFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A golden directory in the shared format: {@code manifest.json} with its case lists, checkpoints, images and
 * golden tensors, plus the {@code tokenizer/} and {@code template/} case files. Everything is found through the
 * manifest and those files, never through names known in advance.
 */
public final class GoldenSet {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;
    private final JsonNode manifest;

    private GoldenSet(Path root, JsonNode manifest) {
        this.root = root;
        this.manifest = manifest;
    }

    public static GoldenSet open(Path root) {
        Path manifestPath = root.resolve("manifest.json");
        if (!Files.isRegularFile(manifestPath)) {
            throw new IllegalArgumentException(root + ": no manifest.json (not a golden directory)");
        }
        return new GoldenSet(root, readJson(manifestPath));
    }

    public static JsonNode readJson(Path path) {
        try {
            return JSON.readTree(path.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": " + e.getMessage(), e);
        }
    }

    public Path root() {
        return root;
    }

    public JsonNode manifest() {
        return manifest;
    }

    public Path resolve(String relative) {
        return root.resolve(relative);
    }

    /** The cases of one manifest list ({@code preprocess_cases}, {@code llm_cases}, ...); empty when absent. */
    public List<JsonNode> cases(String key) {
        List<JsonNode> out = new ArrayList<>();
        JsonNode list = manifest.get(key);
        if (list != null && list.isArray()) {
            list.forEach(out::add);
        }
        return out;
    }

    public SafetensorsFile openTensors(String relative) {
        return SafetensorsFile.open(resolve(relative));
    }

    /** A numeric tolerance from {@code suggested_tolerances}, or the fallback when the manifest has none. */
    public double tolerance(String key, double fallback) {
        JsonNode t = manifest.path("suggested_tolerances").get(key);
        return t != null && t.isNumber() ? t.asDouble() : fallback;
    }

    /** The directory of the checkpoint a case names. */
    public Path checkpointDir(String name) {
        JsonNode ckpt = manifest.path("checkpoints").get(name);
        String dir = ckpt != null && ckpt.hasNonNull("dir") ? ckpt.get("dir").asText() : "checkpoints/" + name;
        return resolve(dir);
    }
}
