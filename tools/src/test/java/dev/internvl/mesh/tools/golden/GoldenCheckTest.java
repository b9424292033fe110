package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The golden check on the fixtures in the repo, and on directories of the same format it has never seen. */
class GoldenCheckTest {
    static final Path FIXTURES = Path.of("../testdata/golden");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static List<String> run(Path dir, GoldenCheck.Summary[] summary) {
        List<String> lines = new ArrayList<>();
        summary[0] = new GoldenCheck(GoldenCheck.allSuites()).run(GoldenSet.open(dir), lines::add);
        return lines;
    }

    private static int caseCount(Path dir) throws IOException {
        JsonNode manifest = JSON.readTree(dir.resolve("manifest.json").toFile());
        int n = 0;
        for (var it = manifest.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (key.endsWith("_cases")) {
                n += manifest.get(key).size();
            }
        }
        n += JSON.readTree(dir.resolve("tokenizer/cases.json").toFile()).get("cases").size();
        n += JSON.readTree(dir.resolve("template/cases.json").toFile()).get("cases").size();
        return n;
    }

    @Test
    void everyFixtureCasePasses() throws IOException {
        GoldenCheck.Summary[] s = new GoldenCheck.Summary[1];
        List<String> lines = run(FIXTURES, s);
        assertEquals(0, s[0].failed(), String.join("\n", lines.stream().filter(l -> l.startsWith("FAIL")).toList()));
        assertEquals(caseCount(FIXTURES), s[0].passed(), "one line per case of every kind");
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("PASS tiny-300m-style/mm_camera_max12: logits_last")));
    }

    /** Renamed checkpoints and images and a reduced case list: everything must be found through the manifest. */
    @Test
    void passesOnAnUnseenDirectoryOfTheSameFormat() throws IOException {
        Path dir = copyTree(FIXTURES, tmp.resolve("unseen"));
        ObjectNode manifest = (ObjectNode) JSON.readTree(dir.resolve("manifest.json").toFile());
        Files.move(dir.resolve("checkpoints/tiny-6b-style"), dir.resolve("checkpoints/other-model"));
        ((ObjectNode) manifest.get("checkpoints").get("tiny-6b-style")).put("dir", "checkpoints/other-model");
        Files.move(dir.resolve("images/camera.png"), dir.resolve("images/renamed-camera.png"));
        ((ObjectNode) manifest.get("images").get("camera.png")).put("file", "images/renamed-camera.png");
        for (String key : new String[]{"preprocess_cases", "vision_cases", "llm_cases"}) {
            ArrayNode cases = (ArrayNode) manifest.get(key);
            while (cases.size() > 2) {
                cases.remove(0);
            }
        }
        Files.writeString(dir.resolve("manifest.json"), manifest.toString());

        GoldenCheck.Summary[] s = new GoldenCheck.Summary[1];
        List<String> lines = run(dir, s);
        assertEquals(0, s[0].failed(), String.join("\n", lines));
        assertEquals(caseCount(dir), s[0].passed());
    }

    @Test
    void aWrongGoldenValueAndAnUnknownCaseKindFail() throws IOException {
        Path dir = copyTree(FIXTURES, tmp.resolve("broken"));
        ObjectNode manifest = (ObjectNode) JSON.readTree(dir.resolve("manifest.json").toFile());
        manifest.putArray("video_cases").addObject().put("id", "future/video_case");
        Files.writeString(dir.resolve("manifest.json"), manifest.toString());
        // Overwrite the first float of the first vision case's embeds.
        String file = manifest.get("vision_cases").get(0).get("file").asText();
        try (RandomAccessFile raf = new RandomAccessFile(dir.resolve(file).toFile(), "rw")) {
            byte[] len = new byte[8];
            raf.readFully(len);
            raf.seek(8 + ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong());
            raf.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(99f).array());
        }
        GoldenCheck.Summary[] s = new GoldenCheck.Summary[1];
        List<String> lines = run(dir, s);
        assertEquals(2, s[0].failed(), String.join("\n", lines));
        assertTrue(lines.contains("FAIL future/video_case: case kind 'video_cases' is not implemented"));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("FAIL " + manifest.get("vision_cases").get(0).get("id").asText() + ": embeds")
                && l.contains("EXCEEDED")), String.join("\n", lines));
    }

    private static Path copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return to;
    }
}
