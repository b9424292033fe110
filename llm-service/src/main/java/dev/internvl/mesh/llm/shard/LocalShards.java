package dev.internvl.mesh.llm.shard;

import dev.internvl.mesh.engine.EngineJvm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Layer shards as child processes of this JVM on loopback, one per layer range, each a {@link LayerShardMain}
 * on this JVM's classpath: the golden check and the benchmark run the sharded tier this way, and tests kill and
 * restart single shards. Output goes to {@code logDir}, created if missing.
 *
 * <p>Each shard first binds a port of its own choosing (port 0) and reports it through {@code LLM_SHARD_PORT_FILE}:
 * a port chosen free here and bound by the child a second later can be taken by any other bind in between.
 */
public final class LocalShards implements AutoCloseable {
    private final Path modelDir;
    private final int count;
    private final Map<String, String> extraEnvironment;
    private final Path logDir;
    /** Each shard's gRPC port: 0 until it reports one, then kept for restarts. */
    private final int[] ports;
    private final Process[] processes;

    private LocalShards(Path modelDir, int count, Map<String, String> extraEnvironment, Path logDir) {
        this.modelDir = modelDir;
        this.count = count;
        this.extraEnvironment = Map.copyOf(extraEnvironment);
        this.logDir = logDir;
        this.ports = new int[count];
        this.processes = new Process[count];
    }

    /**
     * Starts {@code count} shards over {@code modelDir} (a balanced split) and returns once each is serving.
     *
     * @param extraEnvironment more settings for every shard (MESH_PRECISION, LLM_KV_CACHE_BYTES, ...)
     */
    public static LocalShards start(Path modelDir, int count, Map<String, String> extraEnvironment, Path logDir) {
        try {
            Files.createDirectories(logDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the shards' log directory " + logDir + ": " + e.getMessage(), e);
        }
        LocalShards shards = new LocalShards(modelDir, count, extraEnvironment, logDir);
        try {
            for (int i = 0; i < count; i++) {
                shards.startShard(i);
            }
            for (int i = 0; i < count; i++) {
                shards.ports[i] = shards.awaitReportedPort(i);
            }
        } catch (RuntimeException e) {
            shards.close();
            throw e;
        }
        return shards;
    }

    /** {@code host:port} of every shard, in layer order: the coordinator's LLM_SHARD_ADDRS. */
    public List<String> addresses() {
        List<String> out = new ArrayList<>(count);
        for (int port : ports) {
            out.add("127.0.0.1:" + port);
        }
        return out;
    }

    /**
     * Starts shard {@code index}; again after {@link #kill}, on the port it had, without waiting (the coordinator
     * notices it coming back).
     */
    public void startShard(int index) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // Every shard gets all the cores: the shards of a step mostly take turns (one pass moves through them in order).
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(EngineJvm.flags());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), LayerShardMain.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> env = pb.environment();
        env.putAll(extraEnvironment);
        env.put("MODEL_DIR", modelDir.toString());
        env.put("LLM_SHARDS", Integer.toString(count));
        env.put("LLM_SHARD_INDEX", Integer.toString(index));
        env.put("LLM_SHARD_PORT", Integer.toString(ports[index]));
        env.put("LLM_SHARD_METRICS_PORT", "0");
        env.put("LLM_SHARD_PORT_FILE", portFile(index).toString());
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logFile(index).toFile()));
        try {
            Files.deleteIfExists(portFile(index)); // a port reported by an earlier run of the shard is no news
            processes[index] = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start layer shard " + index + ": " + e.getMessage(), e);
        }
    }

    /** Kills shard {@code index} at once (SIGKILL), as a crash would. */
    public void kill(int index) throws InterruptedException {
        Process p = processes[index];
        if (p != null) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() {
        for (Process p : processes) {
            if (p != null) {
                p.destroy();
            }
        }
        for (Process p : processes) {
            if (p != null) {
                try {
                    if (!p.waitFor(Duration.ofSeconds(10).toMillis(), TimeUnit.MILLISECONDS)) {
                        p.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    p.destroyForcibly();
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private Path logFile(int index) {
        return logDir.resolve("shard-" + index + ".log");
    }

    private Path portFile(int index) {
        return logDir.resolve("shard-" + index + ".port");
    }

    /** The port shard {@code index} reports once serving; fails if it exits first or takes over five minutes. */
    private int awaitReportedPort(int index) {
        Path file = portFile(index);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        try {
            while (!Files.exists(file)) {
                Process p = processes[index];
                if (!p.isAlive()) {
                    throw new IllegalStateException("layer shard " + index + " exited with status " + p.exitValue()
                            + " before serving; see " + logFile(index));
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("layer shard " + index + " is not serving after 5 minutes; see "
                            + logFile(index));
                }
                Thread.sleep(20);
            }
            return Integer.parseInt(Files.readString(file).trim());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for layer shard " + index, e);
        }
    }
}
