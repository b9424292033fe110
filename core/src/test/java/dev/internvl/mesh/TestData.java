package dev.internvl.mesh;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Locates the golden fixtures shipped in the repository ({@code testdata/golden}), and compares float arrays. */
public final class TestData {
    private TestData() {
    }

    public static Path golden() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null) {
            Path candidate = dir.resolve("testdata/golden");
            if (Files.isRegularFile(candidate.resolve("manifest.json"))) {
                return candidate;
            }
            dir = dir.getParent();
        }
        throw new IllegalStateException("testdata/golden not found above " + Path.of("").toAbsolutePath());
    }

    public static Path checkpoint(String name) {
        return golden().resolve("checkpoints").resolve(name);
    }

    public static Path goldenFile(String relative) {
        return golden().resolve(relative);
    }

    /** Asserts max |actual - expected| <= atol, naming the worst element. */
    public static void assertMaxAbs(String what, float[] actual, float[] expected, double atol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < actual.length; i++) {
            double d = Math.abs((double) actual[i] - expected[i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        String detail = at < 0 ? "" : " at " + at + " (" + actual[at] + " vs " + expected[at] + ")";
        assertTrue(worst <= atol, what + ": max |diff| " + worst + " > " + atol + detail);
    }
}
