package dev.internvl.mesh.engine;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EngineJvmTest {
    @Test
    void aJvmStartsWithTheEngineFlagsAndNoWarning() throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(EngineJvm.flags());
        command.add("-version");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), output);
        assertFalse(output.contains("transparent huge pages"), output);
    }

    @Test
    void hugePagesOnlyWhereTheKernelOffersThem() {
        assertEquals(EngineJvm.hugePagesOnOffer(), EngineJvm.flags().contains("-XX:+UseTransparentHugePages"));
        assertTrue(EngineJvm.flags().containsAll(List.of("--add-modules", "jdk.incubator.vector")));
    }
}
