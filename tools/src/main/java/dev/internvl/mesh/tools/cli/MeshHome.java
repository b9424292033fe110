package dev.internvl.mesh.tools.cli;

import java.nio.file.Path;

/** Where the project's files are when the tools run from a checkout ({@code bin/} sets {@code mesh.home}). */
final class MeshHome {
    private MeshHome() {
    }

    static Path root() {
        return Path.of(System.getProperty("mesh.home", "."));
    }

    /** The real InternVL 2.5 tokenizer files kept in the repository. */
    static Path defaultTokenizerDir() {
        return root().resolve("testdata/golden/tokenizer/internvl2_5-qwen2");
    }
}
