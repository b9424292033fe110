package dev.internvl.mesh.engine;

import java.util.List;

/**
 * The JVM flags of a process that runs the engine, for the code that starts one (local layer shards, the
 * benchmark's memory check). {@code bin/mesh-java} and the container images spell out the same flags.
 */
public final class EngineJvm {
    private EngineJvm() {
    }

    /**
     * {@code java}'s arguments before the class path: the Vector API, native access (oneDNN, the tokenizer) and a
     * deeper thread stack.
     *
     * <p>Not among them: {@code -XX:+UseTransparentHugePages} (the heap, and so the KV cache, on 2 MB pages). Tried
     * on 16 sequences at 2048 tokens: seven pairs of runs with and without it, no steady difference (the on run
     * faster in three, slower in two), for 50 MiB more resident memory.
     */
    public static List<String> flags() {
        return List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss2m");
    }
}
