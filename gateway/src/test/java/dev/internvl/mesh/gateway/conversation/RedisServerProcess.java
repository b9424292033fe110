package dev.internvl.mesh.gateway.conversation;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A throwaway redis-server for tests: loopback only, a free port, a temporary directory, no persistence. The
 * binary is {@code $REDIS_SERVER} or {@code redis-server} on the PATH; without it the tests fail, not skip.
 */
public final class RedisServerProcess {
    private final Process process;
    private final Path dir;
    private final int port;

    private RedisServerProcess(Process process, Path dir, int port) {
        this.process = process;
        this.dir = dir;
        this.port = port;
    }

    public static RedisServerProcess start() throws IOException, InterruptedException {
        Path binary = binary().orElseGet(() -> fail("""
                redis-server was not found on the PATH, and REDIS_SERVER does not name it. The Redis conversation \
                store tests need a real server: install it (Debian/Ubuntu: apt-get install redis-server) or set \
                REDIS_SERVER to the binary's path."""));
        Path dir = Files.createTempDirectory("redis-test-");
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) { // another process may take the free port before redis does
            int port = freePort();
            Process process = new ProcessBuilder(binary.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                    "--dir", dir.toString(), "--save", "", "--appendonly", "no", "--daemonize", "no")
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("redis.log").toFile())
                    .start();
            try {
                awaitPong(process, port);
                return new RedisServerProcess(process, dir, port);
            } catch (IOException e) {
                process.destroyForcibly().waitFor();
                last = e;
            }
        }
        String log = Files.readString(dir.resolve("redis.log"));
        deleteRecursively(dir);
        throw new IOException("redis-server did not start; its last log:\n" + log, last);
    }

    private static Optional<Path> binary() {
        String configured = System.getenv("REDIS_SERVER");
        if (configured != null && !configured.isBlank()) {
            return Optional.of(Path.of(configured)).filter(Files::isExecutable);
        }
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, "redis-server"))
                .filter(Files::isExecutable)
                .findFirst();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void awaitPong(Process process, int port) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("redis-server exited with status " + process.exitValue());
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
                socket.setSoTimeout(2000);
                OutputStream out = socket.getOutputStream();
                out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = socket.getInputStream();
                byte[] reply = in.readNBytes(7);
                if (new String(reply, StandardCharsets.US_ASCII).equals("+PONG\r\n")) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(50);
        }
        throw new IOException("redis-server did not answer PING on port " + port + " within 15 s");
    }

    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    public void stop() throws IOException, InterruptedException {
        process.destroy(); // SIGTERM: redis-server shuts down cleanly
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
        deleteRecursively(dir);
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
