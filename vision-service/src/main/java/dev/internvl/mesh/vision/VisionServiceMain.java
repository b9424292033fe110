package dev.internvl.mesh.vision;

import dev.internvl.mesh.serving.ServiceRunner;
import dev.internvl.mesh.serving.Settings;


/** Runs the vision tier from environment variables (see {@link VisionSettings}) until SIGTERM or SIGINT. */
public final class VisionServiceMain {
    private VisionServiceMain() {
    }

    public static void main(String[] args) throws Exception {
        ServiceRunner.run("vision-service", () -> VisionServer.start(VisionSettings.from(Settings.fromEnvironment())));
    }
}
