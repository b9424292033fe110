package dev.internvl.mesh.vision;

import dev.internvl.mesh.image.ImageLimits;
import dev.internvl.mesh.serving.MeshTls;
import dev.internvl.mesh.serving.Settings;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VisionSettingsTest {
    @Test
    void defaultsNeedOnlyTheModelDirectory() {
        VisionSettings s = VisionSettings.from(new Settings(Map.of("MODEL_DIR", "/models/m")));
        assertEquals(new VisionSettings(Path.of("/models/m"), "127.0.0.1", 50051, 9091, VisionEngineKind.CPU, 8,
                Duration.ofMillis(5), 256L << 20, ImageLimits.defaults(), 2, MeshTls.plaintext()), s);
    }

    @Test
    void valuesComeFromTheEnvironment() {
        VisionSettings s = VisionSettings.from(new Settings(Map.of("MODEL_DIR", "/m", "VISION_HOST", "0.0.0.0",
                "VISION_GRPC_PORT", "6000", "VISION_METRICS_PORT", "6001", "VISION_ENGINE", "CPU",
                "VISION_MAX_BATCH_TILES", "16", "VISION_MAX_BATCH_WAIT", "0.02s", "VISION_CACHE_BYTES", "1g",
                "VISION_MAX_IMAGE_BYTES", "4m", "VISION_MAX_IMAGE_PIXELS", "1000000")));
        assertEquals(new VisionSettings(Path.of("/m"), "0.0.0.0", 6000, 6001, VisionEngineKind.CPU, 16,
                Duration.ofMillis(20), 1L << 30, new ImageLimits(4L << 20, 1_000_000), 2, MeshTls.plaintext()), s);
    }

    @Test
    void aMissingModelDirectoryOrUnknownEngineIsAClearError() {
        String missing = assertThrows(IllegalArgumentException.class,
                () -> VisionSettings.from(new Settings(Map.of()))).getMessage();
        assertTrue(missing.startsWith("MODEL_DIR is not set"), missing);
        String engine = assertThrows(IllegalArgumentException.class, () -> VisionSettings.from(
                new Settings(Map.of("MODEL_DIR", "/m", "VISION_ENGINE", "tensorrt")))).getMessage();
        assertEquals("VISION_ENGINE=tensorrt is not an engine this build has; choose one of: cpu", engine);
    }

    @Test
    void outOfRangeValuesNameTheirVariable() {
        for (var bad : Map.of("VISION_MAX_BATCH_TILES", "0", "VISION_GRPC_PORT", "70000", "VISION_CACHE_BYTES", "-1",
                "VISION_PREPROCESS_THREADS", "0", "VISION_MAX_IMAGE_PIXELS", "0").entrySet()) {
            String message = assertThrows(IllegalArgumentException.class, () -> VisionSettings.from(
                    new Settings(Map.of("MODEL_DIR", "/m", bad.getKey(), bad.getValue())))).getMessage();
            assertTrue(message.contains(bad.getKey()), message);
        }
    }
}
