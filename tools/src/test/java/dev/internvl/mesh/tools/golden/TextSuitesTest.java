package dev.internvl.mesh.tools.golden;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextSuitesTest {
    @TempDir
    Path temp;

    @Test
    void everyTokenizerAndTemplateGoldenPasses() {
        GoldenSet set = GoldenSet.open(golden());
        List<CaseResult> tokenizer = run(new TokenizerSuite(), set);
        List<CaseResult> template = run(new TemplateSuite(), set);
        assertEquals(GoldenSet.readJson(golden().resolve("tokenizer/cases.json")).get("cases").size(), tokenizer.size());
        assertEquals(GoldenSet.readJson(golden().resolve("template/cases.json")).get("cases").size(), template.size());
        for (CaseResult r : tokenizer) {
            assertTrue(r.passed(), r.line());
        }
        for (CaseResult r : template) {
            assertTrue(r.passed(), r.line());
        }
        assertEquals("PASS template/multi-image-separate: ok",
                template.stream().filter(r -> r.id().equals("template/multi-image-separate")).findFirst().orElseThrow().line());
        assertTrue(GoldenCheck.allSuites().stream().anyMatch(s -> s instanceof TokenizerSuite));
        assertTrue(GoldenCheck.allSuites().stream().anyMatch(s -> s instanceof TemplateSuite));
    }

    @Test
    void aDirectoryWithoutTheCaseFilesHasNoCases() throws IOException {
        GoldenSet set = GoldenSet.open(goldenDir());
        assertEquals(List.of(), run(new TokenizerSuite(), set));
        assertEquals(List.of(), run(new TemplateSuite(), set));
    }

    @Test
    void aFailingOrThrowingCaseDoesNotStopTheOthers() throws IOException {
        Path root = goldenDir();
        Files.createDirectories(root.resolve("tokenizer"));
        String tokenizerDir = golden().resolve("tokenizer/internvl2_5-qwen2").toString().replace("\\", "\\\\");
        Files.writeString(root.resolve("tokenizer/cases.json"), "{\"tokenizer\": \"" + tokenizerDir + "\", \"cases\": ["
                + "{\"text\": \"Hello\", \"ids\": [9707], \"decoded\": \"Hello\"},"
                + "{\"text\": \"Hello\", \"ids\": [9708], \"decoded\": \"Hello\"},"
                + "{\"text\": \"Hello\", \"ids\": \"9707\", \"decoded\": \"Hello\"},"
                + "{\"text\": \"!\", \"ids\": [0], \"decoded\": \"!\"}]}");
        Files.createDirectories(root.resolve("template"));
        Files.writeString(root.resolve("template/cases.json"), "{\"template\": \"internvl2_5\", \"num_image_token\": 2, \"cases\": ["
                + "{\"name\": \"zero-tiles\", \"question\": \"Hi\", \"num_patches_list\": [0], \"history\": [],"
                + " \"expected_question_in_history\": \"\", \"expected_prompt\": \"\", \"expected_input_ids\": []},"
                + "{\"name\": \"short\", \"question\": \"Hi\", \"num_patches_list\": [], \"history\": [], \"system_message\": \"S\","
                + " \"expected_question_in_history\": \"Hi\","
                + " \"expected_prompt\": \"<|im_start|>system\\nS<|im_end|>\\n<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n\","
                + " \"expected_input_ids\": [151644, 8948, 198, 50, 151645, 198, 151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198]}]}");
        GoldenSet set = GoldenSet.open(root);

        List<String> tokenizer = run(new TokenizerSuite(), set).stream().map(CaseResult::line).toList();
        assertEquals(4, tokenizer.size());
        assertEquals("PASS tokenizer/00: ok", tokenizer.get(0));
        assertTrue(tokenizer.get(1).startsWith("FAIL tokenizer/01: ids differ: got [9707], expected [9708]"), tokenizer.get(1));
        assertEquals("FAIL tokenizer/02: java.lang.IllegalArgumentException: key 'ids' must be a list of integers", tokenizer.get(2));
        assertEquals("PASS tokenizer/03: ok", tokenizer.get(3));

        List<String> template = run(new TemplateSuite(), set).stream().map(CaseResult::line).toList();
        assertEquals(List.of(
                "FAIL template/zero-tiles: java.lang.IllegalArgumentException: image 1 has 0 tiles; every image has at least one",
                "PASS template/short: ok"), template);
    }

    @Test
    void aMissingTokenizerFailsEveryCaseWithTheReason() throws IOException {
        Path root = goldenDir();
        Files.createDirectories(root.resolve("tokenizer"));
        Files.writeString(root.resolve("tokenizer/cases.json"), "{\"tokenizer\": \"gone\", \"cases\": [{}, {}]}");
        List<String> lines = run(new TokenizerSuite(), GoldenSet.open(root)).stream().map(CaseResult::line).toList();
        String why = "cannot load the tokenizer: " + root.resolve("tokenizer/gone") + ": not a directory";
        assertEquals(List.of("FAIL tokenizer/00: " + why, "FAIL tokenizer/01: " + why), lines);
    }

    private Path goldenDir() throws IOException {
        Path root = Files.createDirectories(temp.resolve("golden"));
        Files.writeString(root.resolve("manifest.json"), "{}");
        return root;
    }

    private static List<CaseResult> run(GoldenSuite suite, GoldenSet set) {
        List<CaseResult> out = new ArrayList<>();
        suite.run(set, out::add);
        return out;
    }

    /** The repository's copy of the shared golden set. */
    private static Path golden() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("testdata/golden"))) {
                return dir.resolve("testdata/golden");
            }
        }
        throw new IllegalStateException("testdata/golden not found");
    }
}
