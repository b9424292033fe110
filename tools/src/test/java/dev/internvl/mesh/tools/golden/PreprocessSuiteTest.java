package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PreprocessSuiteTest {
    private static Path golden() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("testdata/golden");
            if (Files.isRegularFile(candidate.resolve("manifest.json"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("no testdata/golden above " + Path.of("").toAbsolutePath());
    }

    @Test
    void everyPreprocessCaseOfTheFixturesPasses() {
        List<CaseResult> results = new ArrayList<>();
        new PreprocessSuite().run(GoldenSet.open(golden()), results::add);
        assertEquals(12, results.size());
        for (CaseResult r : results) {
            assertTrue(r.passed(), r.line());
        }
    }

    /** A case that cannot run is reported as failed, and the cases after it still run. */
    @Test
    void aBrokenCaseFailsAloneAndTheOthersStillRun(@TempDir Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode manifest = (ObjectNode) json.readTree(golden().resolve("manifest.json").toFile());
        ArrayNode cases = (ArrayNode) manifest.get("preprocess_cases");
        ObjectNode good = (ObjectNode) cases.get(7); // gen_tiny_37x23_max12
        ObjectNode missingImage = good.deepCopy().put("id", "missing_image").put("image", "nope.png");
        ObjectNode wrongGrid = good.deepCopy().put("id", "wrong_grid").put("max_num", 1);
        ObjectNode badFile = good.deepCopy().put("id", "bad_file").put("file", "goldens/preprocess/none.safetensors");
        manifest.putArray("preprocess_cases").add(missingImage).add(badFile).add(wrongGrid).add(good);
        json.writeValue(dir.resolve("manifest.json").toFile(), manifest);
        for (String sub : List.of("images", "goldens")) {
            copyTree(golden().resolve(sub), dir.resolve(sub));
        }

        List<CaseResult> results = new ArrayList<>();
        new PreprocessSuite().run(GoldenSet.open(dir), results::add);
        assertEquals(List.of("missing_image", "bad_file", "wrong_grid", "gen_tiny_37x23_max12"),
                results.stream().map(CaseResult::id).toList());
        assertFalse(results.get(0).passed(), results.get(0).line());
        assertTrue(results.get(0).line().contains("image 'nope.png' is not in the manifest's images"), results.get(0).line());
        assertFalse(results.get(1).passed(), results.get(1).line());
        assertFalse(results.get(2).passed(), results.get(2).line());
        assertTrue(results.get(2).line().contains("grid differ: got 1x1, expected 3x2"), results.get(2).line());
        assertTrue(results.get(3).passed(), results.get(3).line());
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (var paths = Files.walk(from)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
