package dev.internvl.mesh;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the golden fixtures shipped in the repository ({@code testdata/golden}). */
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
}
