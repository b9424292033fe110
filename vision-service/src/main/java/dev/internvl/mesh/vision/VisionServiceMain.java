package dev.internvl.mesh.vision;

import dev.internvl.mesh.checkpoint.CheckpointException;
import dev.internvl.mesh.serving.Settings;

import java.io.UncheckedIOException;

/** Runs the vision tier from environment variables (see {@link VisionSettings}) until SIGTERM or SIGINT. */
public final class VisionServiceMain {
    private VisionServiceMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        VisionServer server;
        try {
            server = VisionServer.start(VisionSettings.from(Settings.fromEnvironment()));
        } catch (IllegalArgumentException | CheckpointException | UncheckedIOException e) {
            System.err.println("vision-service: " + e.getMessage());
            System.exit(2);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "vision-shutdown"));
        server.awaitTermination();
    }
}
