package dev.internvl.mesh.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The JVM flags of a process that runs the engine, for the code that starts one (local layer shards, the
 * benchmark's memory check). {@code bin/mesh-java} and the container images spell out the same flags.
 */
public final class EngineJvm {
    private static final Path THP_MODE = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    private EngineJvm() {
    }

    /**
     * {@code java}'s arguments before the class path: the Vector API, native access (oneDNN, the tokenizer), a
     * deeper thread stack, and, where Linux offers transparent huge pages, the heap on them: the KV cache lives on
     * the heap and batched decode at long context reads all of it every step (measured: 16 sequences at 2048
     * tokens decode 7-15% faster, peak RSS of the benchmark's memory check 50 MiB higher). The flag is left out
     * elsewhere: JVMs on other systems refuse it, and with huge pages off the JVM warns at every start.
     */
    public static List<String> flags() {
        List<String> flags = new ArrayList<>(List.of("--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Xss2m"));
        if (hugePagesOnOffer()) {
            flags.add("-XX:+UseTransparentHugePages");
        }
        return flags;
    }

    /** Whether the kernel gives transparent huge pages to a process that asks ({@code [always]} or {@code [madvise]}). */
    static boolean hugePagesOnOffer() {
        try {
            String mode = Files.readString(THP_MODE);
            return mode.contains("[always]") || mode.contains("[madvise]");
        } catch (IOException | SecurityException e) {
            return false;
        }
    }
}
