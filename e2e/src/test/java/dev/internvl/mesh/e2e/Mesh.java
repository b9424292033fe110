package dev.internvl.mesh.e2e;

import dev.internvl.mesh.gateway.GatewayMain;
import dev.internvl.mesh.llm.LlmServiceMain;
import dev.internvl.mesh.serving.Settings;
import dev.internvl.mesh.vision.VisionServer;
import dev.internvl.mesh.vision.VisionSettings;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The three tiers on loopback ports, in this JVM but talking gRPC and HTTP over real sockets exactly as separate
 * processes do; each can be stopped and started again on its port.
 */
final class Mesh implements AutoCloseable {
    static final Path GOLDEN = Path.of("../testdata/golden");
    static final Path MODEL = GOLDEN.resolve("checkpoints/tiny-300m-style");
    static final Path TOKENIZER = GOLDEN.resolve("tokenizer/internvl2_5-qwen2");
    static final String MODEL_NAME = "tiny-300m-style";

    final int visionPort = freePort();
    final int llmPort = freePort();
    final int gatewayPort = freePort();
    final int gatewayGrpcPort = freePort();
    private final Map<String, String> env = new HashMap<>();
    VisionServer vision;
    LlmServiceMain.Running llm;
    GatewayMain.Running gateway;

    Mesh(Map<String, String> overrides) throws Exception {
        env.putAll(Map.of(
                "MODEL_DIR", MODEL.toString(),
                "TOKENIZER_DIR", TOKENIZER.toString(),
                "VISION_GRPC_PORT", Integer.toString(visionPort), "VISION_METRICS_PORT", "0",
                "LLM_GRPC_PORT", Integer.toString(llmPort), "LLM_METRICS_PORT", "0",
                "VISION_ADDR", "127.0.0.1:" + visionPort, "LLM_ADDR", "127.0.0.1:" + llmPort,
                "GATEWAY_HTTP_PORT", Integer.toString(gatewayPort),
                // exact embeddings on the wire, so outputs equal the single-process engine's
                "LLM_VISION_DTYPE", "f32"));
        env.put("LLM_KV_CACHE_BYTES", "64m");
        env.put("GATEWAY_GRPC_PORT", Integer.toString(gatewayGrpcPort));
        env.put("GATEWAY_STORE_PATH", java.nio.file.Files.createTempDirectory("mesh-e2e").resolve("conversations.db").toString());
        env.putAll(overrides);
        startVision();
        llm = LlmServiceMain.start(new Settings(env));
        gateway = GatewayMain.start(new Settings(env));
    }

    void startVision() {
        vision = VisionServer.start(VisionSettings.from(new Settings(env)));
    }

    void stopVision() {
        vision.close();
        vision = null;
    }

    void restartGateway() throws Exception {
        gateway.close();
        gateway = GatewayMain.start(new Settings(env));
    }

    String url(String path) {
        return "http://127.0.0.1:" + gatewayPort + path;
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (llm != null) {
            llm.close();
        }
        if (vision != null) {
            vision.close();
        }
    }
}
