package dev.internvl.mesh.serving;

import dev.internvl.mesh.checkpoint.CheckpointException;
import dev.internvl.mesh.tokenizer.TokenizerException;

import java.io.UncheckedIOException;
import java.util.concurrent.Callable;

/**
 * The life of a tier's process: start it, stop it cleanly on SIGTERM or Ctrl-C, and turn a start-up failure the
 * operator can fix (a setting, the model directory, a port) into one line on stderr and exit status 2.
 */
public final class ServiceRunner {
    private ServiceRunner() {
    }

    public static void run(String name, Callable<? extends AutoCloseable> start) throws Exception {
        AutoCloseable running;
        try {
            running = start.call();
        } catch (IllegalArgumentException | CheckpointException | TokenizerException | UncheckedIOException e) {
            System.err.println(name + ": " + e.getMessage());
            System.exit(2);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                running.close();
            } catch (Exception e) {
                System.err.println(name + ": shutdown: " + e);
            }
        }, name + "-shutdown"));
        Thread.currentThread().join();
    }
}
