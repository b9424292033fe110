package dev.internvl.mesh.tools.golden;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ViT-tile and text-LLM suites pass on the golden subset shipped in the repository. */
class EngineSuitesTest {
    static GoldenSet fixtures() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("testdata/golden/manifest.json"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("testdata/golden not found");
        }
        return GoldenSet.open(dir.resolve("testdata/golden"));
    }

    @Test
    void everyVitTileAndLlmCasePasses() {
        GoldenSet set = fixtures();
        List<CaseResult> results = new ArrayList<>();
        new VitTileSuite().run(set, results::add);
        new LlmSuite().run(set, results::add);
        results.forEach(r -> System.out.println(r.line()));
        assertEquals(set.cases(VitTileSuite.KEY).size() + set.cases(LlmSuite.KEY).size(), results.size());
        for (CaseResult r : results) {
            assertTrue(r.passed(), r.line());
        }
    }

    @Test
    void aBrokenCaseIsReportedAndTheOthersStillRun() throws Exception {
        GoldenSet real = fixtures();
        Path copy = Files.createTempDirectory("golden-broken");
        String manifest = Files.readString(real.resolve("manifest.json"))
                .replaceFirst("\"checkpoint\": \"tiny-300m-style\"", "\"checkpoint\": \"no-such-checkpoint\"");
        Files.writeString(copy.resolve("manifest.json"), manifest);
        for (String sub : new String[]{"checkpoints", "goldens"}) {
            Files.createSymbolicLink(copy.resolve(sub), real.resolve(sub));
        }
        List<CaseResult> results = new ArrayList<>();
        GoldenSet broken = GoldenSet.open(copy);
        new VitTileSuite().run(broken, results::add);
        assertEquals(broken.cases(VitTileSuite.KEY).size(), results.size());
        assertTrue(results.stream().filter(r -> !r.passed()).count() == 1, results.toString());
    }

    @Test
    void topTenKeepsDescendingOrderAndComparesNearTiesAsSets() {
        float[] logits = {1f, 5f, 5.00001f, 3f, 4f, 2f, 0.5f, 0.1f, 0.2f, 0.3f, 0.4f, 0.05f};
        int[] ids = new int[11];
        float[] values = new float[11];
        LlmCaseCheck.top(logits, 0, logits.length, ids, values, 0);
        assertEquals(List.of(2, 1, 4, 3, 5, 0, 6, 10, 9, 8, 7), java.util.Arrays.stream(ids).boxed().toList());
        // The reference ranked the near-tied pair the other way round: still a match.
        int[] swapped = {1, 2, 4, 3, 5, 0, 6, 10, 9, 8};
        float[] expected = {5f, 5f, 4f, 3f, 2f, 1f, 0.5f, 0.4f, 0.3f, 0.2f};
        assertEquals(null, LlmCaseCheck.compareTop(ids, values, 0, swapped, expected, 0));
        // A genuinely different id is not.
        int[] wrong = {2, 1, 4, 3, 5, 0, 6, 10, 9, 11};
        assertTrue(LlmCaseCheck.compareTop(ids, values, 0, wrong, expected, 0) != null);
    }
}
