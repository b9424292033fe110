package dev.internvl.mesh.vision;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.checkpoint.SafetensorsFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The repository's golden fixtures ({@code testdata/golden}): checkpoints, images, and the vision cases. */
final class Golden {
    static final String CHECKPOINT = "tiny-300m-style";

    private Golden() {
    }

    /** One {@code vision_cases} entry: an image at {@code max_num} tiles and its golden embeddings. */
    record VisionCase(String id, String image, int maxTiles, int numTiles, float[] embeds) {
    }

    static Path dir() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path golden = dir.resolve("testdata/golden");
            if (Files.isRegularFile(golden.resolve("manifest.json"))) {
                return golden;
            }
        }
        throw new IllegalStateException("testdata/golden not found above " + Path.of("").toAbsolutePath());
    }

    static Path checkpoint() {
        return dir().resolve("checkpoints").resolve(CHECKPOINT);
    }

    static byte[] image(String name) {
        try {
            return Files.readAllBytes(dir().resolve("images").resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode manifest() {
        try {
            return new ObjectMapper().readTree(dir().resolve("manifest.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static double embedsTolerance() {
        return manifest().path("suggested_tolerances").path("embeds_atol").asDouble(5e-5);
    }

    /** The vision cases of the tiny checkpoint the tests serve. */
    static List<VisionCase> visionCases() {
        List<VisionCase> cases = new ArrayList<>();
        for (JsonNode c : manifest().get("vision_cases")) {
            if (!c.get("checkpoint").asText().equals(CHECKPOINT)) {
                continue;
            }
            try (SafetensorsFile tensors = SafetensorsFile.open(dir().resolve(c.get("file").asText()))) {
                cases.add(new VisionCase(c.get("id").asText(), c.get("image").asText(), c.get("max_num").asInt(),
                        c.get("num_tiles").asInt(), tensors.tensor("embeds").toFloatArray()));
            }
        }
        return cases;
    }
}
