package dev.internvl.mesh.gateway.conversation;

import dev.internvl.mesh.serving.Settings;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ImagePolicyTest {
    @Test
    void readsSettingsWithDefaults() {
        assertEquals(ImagePolicy.DEFAULT, ImagePolicy.from(new Settings(Map.of())));
        assertEquals(new ImagePolicy(5L << 20, 1L << 30, Duration.ofMinutes(30)), ImagePolicy.from(new Settings(Map.of(
                "MESH_IMAGE_MAX_BYTES", "5m", "MESH_CONVERSATION_IMAGE_MAX_BYTES", "1g", "MESH_IMAGE_UNREFERENCED_TTL", "30m"))));
    }

    @Test
    void rejectsLimitsThatCannotWork() {
        assertThrows(IllegalArgumentException.class, () -> new ImagePolicy(0, 10, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new ImagePolicy(10, 0, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new ImagePolicy(10, 10, Duration.ZERO));
    }
}
