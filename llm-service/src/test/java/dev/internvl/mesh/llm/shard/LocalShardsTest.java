package dev.internvl.mesh.llm.shard;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shards started on ports they choose themselves, and a shard that dies before serving. */
class LocalShardsTest {
    @TempDir
    Path logs;

    @Test
    void shardsListenOnThePortsTheyReport() throws Exception {
        Path checkpoint = Path.of("../testdata/golden/checkpoints/tiny-300m-style");
        try (LocalShards shards = LocalShards.start(checkpoint, 2, Map.of("LLM_KV_CACHE_BYTES", "4m"), logs.resolve("new"))) {
            assertEquals(2, shards.addresses().size());
            for (int i = 0; i < 2; i++) {
                String reported = Files.readString(logs.resolve("new/shard-" + i + ".port")).trim();
                assertEquals("127.0.0.1:" + reported, shards.addresses().get(i));
                try (var socket = new java.net.Socket("127.0.0.1", Integer.parseInt(reported))) {
                    assertTrue(socket.isConnected());
                }
            }
        }
    }

    @Test
    void aShardThatExitsBeforeServingFailsTheStartNamingItsLog() {
        Path notAModel = logs.resolve("empty-model");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> LocalShards.start(notAModel, 1, Map.of(), logs).close());
        assertTrue(e.getMessage().contains("exited with status") && e.getMessage().contains("shard-0.log"), e.getMessage());
    }
}
