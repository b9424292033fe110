package dev.internvl.mesh.e2e;

import dev.internvl.mesh.gateway.GatewayMain;
import dev.internvl.mesh.llm.LlmServiceMain;
import dev.internvl.mesh.serving.Settings;
import dev.internvl.mesh.vision.VisionServer;
import dev.internvl.mesh.vision.VisionSettings;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The three tiers on loopback ports, in this JVM but talking gRPC and HTTP over real sockets exactly as separate
 * processes do; each can be stopped and started again on its port.
 *
 * <p>Every tier binds port 0 and the next tier is pointed at the port it got: choosing "free" ports up front and
 * binding them later races with every other bind in the meantime (a metrics server on port 0 once took one).
 */
final class Mesh implements AutoCloseable {
    static final Path GOLDEN = Path.of("../testdata/golden");
    static final Path MODEL = GOLDEN.resolve("checkpoints/tiny-300m-style");
    static final Path TOKENIZER = GOLDEN.resolve("tokenizer/internvl2_5-qwen2");
    static final String MODEL_NAME = "tiny-300m-style";

    private final Map<String, String> env = new HashMap<>();
    int gatewayPort;
    VisionServer vision;
    LlmServiceMain.Running llm;
    GatewayMain.Running gateway;

    Mesh(Map<String, String> overrides) throws Exception {
        env.putAll(Map.of(
                "MODEL_DIR", MODEL.toString(),
                "TOKENIZER_DIR", TOKENIZER.toString(),
                "VISION_GRPC_PORT", "0", "VISION_METRICS_PORT", "0",
                "LLM_GRPC_PORT", "0", "LLM_METRICS_PORT", "0",
                "GATEWAY_HTTP_PORT", "0", "GATEWAY_GRPC_PORT", "0",
                // exact embeddings on the wire, so outputs equal the single-process engine's
                "LLM_VISION_DTYPE", "f32"));
        env.put("LLM_KV_CACHE_BYTES", "64m");
        env.put("GATEWAY_STORE_PATH", java.nio.file.Files.createTempDirectory("mesh-e2e").resolve("conversations.db").toString());
        env.putAll(overrides);
        startVision();
        // a restarted tier comes back on the port it had, where its clients look for it
        env.put("VISION_GRPC_PORT", Integer.toString(vision.grpcPort()));
        env.put("VISION_ADDR", "127.0.0.1:" + vision.grpcPort());
        llm = LlmServiceMain.start(new Settings(env));
        env.put("LLM_ADDR", "127.0.0.1:" + llm.port());
        gateway = GatewayMain.start(new Settings(env));
        gatewayPort = gateway.http().port();
        env.put("GATEWAY_HTTP_PORT", Integer.toString(gatewayPort));
        env.put("GATEWAY_GRPC_PORT", Integer.toString(gateway.grpc().port()));
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
