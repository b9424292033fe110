package dev.internvl.mesh.llm.shard;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Layer shards as child processes of this JVM on loopback, one per layer range, each a {@link LayerShardMain}
 * on this JVM's classpath: the golden check and the benchmark run the sharded tier this way, and tests kill and
 * restart single shards. Output goes to {@code logDir}, created if missing.
 */
public final class LocalShards implements AutoCloseable {
    private final Path modelDir;
    private final int count;
    private final Map<String, String> extraEnvironment;
    private final Path logDir;
    private final int[] ports;
    private final int[] metricsPorts;
    private final Process[] processes;

    private LocalShards(Path modelDir, int count, Map<String, String> extraEnvironment, Path logDir) {
        this.modelDir = modelDir;
        this.count = count;
        this.extraEnvironment = Map.copyOf(extraEnvironment);
        this.logDir = logDir;
        int[] free = freePorts(2 * count);
        this.ports = Arrays.copyOf(free, count);
        this.metricsPorts = Arrays.copyOfRange(free, count, 2 * count);
        this.processes = new Process[count];
    }

    /**
     * Starts {@code count} shards over {@code modelDir} (a balanced split) and returns once each has been started;
     * the coordinator's connect waits for them to answer.
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

    /** Starts shard {@code index} (again, after {@link #kill}) on its port. */
    public void startShard(int index) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // Every shard gets all the cores: the shards of a step mostly take turns (one pass moves through them in order).
        ProcessBuilder pb = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xss2m", "-cp", System.getProperty("java.class.path"), LayerShardMain.class.getName());
        Map<String, String> env = pb.environment();
        env.putAll(extraEnvironment);
        env.put("MODEL_DIR", modelDir.toString());
        env.put("LLM_SHARDS", Integer.toString(count));
        env.put("LLM_SHARD_INDEX", Integer.toString(index));
        env.put("LLM_SHARD_PORT", Integer.toString(ports[index]));
        env.put("LLM_SHARD_METRICS_PORT", Integer.toString(metricsPorts[index]));
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logDir.resolve("shard-" + index + ".log").toFile()));
        try {
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

    /** {@code n} distinct ports free now: each is held until all are chosen, so none is handed out twice. */
    private static int[] freePorts(int n) {
        List<ServerSocket> held = new ArrayList<>(n);
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0);
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing a socket that never accepted anything; nothing to recover
                }
            }
        }
    }
}
