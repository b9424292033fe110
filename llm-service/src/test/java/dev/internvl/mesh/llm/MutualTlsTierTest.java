package dev.internvl.mesh.llm;

import dev.internvl.mesh.llm.shard.LocalShards;
import dev.internvl.mesh.proto.v1.GenerateResponse;
import dev.internvl.mesh.proto.v1.LlmServiceGrpc;
import dev.internvl.mesh.serving.MeshTls;
import dev.internvl.mesh.serving.Settings;
import dev.internvl.mesh.serving.TestCertificates;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The language tier as deployed with the TLS component: MESH_TLS_* set on the coordinator and on two layer-shard
 * processes. The coordinator reaches its shards over mutual TLS (it only starts once it has described them), a
 * client with a certificate from the mesh's CA generates, and a plaintext client is turned away.
 */
class MutualTlsTierTest {
    @TempDir
    Path dir;

    @Test
    void coordinatorShardsAndClientsSpeakMutualTls() throws Exception {
        Path checkpoint = LlmServiceTest.GOLDEN.resolve("checkpoints/tiny-6b-style");
        TestCertificates mesh = new TestCertificates(dir.resolve("certs"), "mesh-ca");
        Path ca = mesh.ca();
        Path[] shard = mesh.leaf("llm-shard");
        Path[] coordinator = mesh.leaf("llm-service");
        Path[] client = mesh.leaf("gateway");
        Map<String, String> shardEnv = Map.of("MESH_PRECISION", "exact", "LLM_KV_CACHE_BYTES", "4m",
                MeshTls.CERT, shard[0].toString(), MeshTls.KEY, shard[1].toString(), MeshTls.CA, ca.toString());
        try (LocalShards shards = LocalShards.start(checkpoint, 2, shardEnv, dir)) {
            Map<String, String> env = new HashMap<>(Map.of(
                    "MODEL_DIR", checkpoint.toString(),
                    "TOKENIZER_DIR", LlmServiceTest.GOLDEN.resolve("tokenizer/internvl2_5-qwen2").toString(),
                    "LLM_GRPC_PORT", "0", "LLM_METRICS_PORT", "0", "VISION_ADDR", "127.0.0.1:1",
                    "LLM_SHARD_ADDRS", String.join(",", shards.addresses()), "LLM_SHARD_WIRE_DTYPE", "f32"));
            env.putAll(Map.of(MeshTls.CERT, coordinator[0].toString(), MeshTls.KEY, coordinator[1].toString(),
                    MeshTls.CA, ca.toString()));
            try (LlmServiceMain.Running service = LlmServiceMain.start(new Settings(env))) {
                ChannelCredentials withCertificate = MeshTls.from(new Settings(Map.of(MeshTls.CERT, client[0].toString(),
                        MeshTls.KEY, client[1].toString(), MeshTls.CA, ca.toString()))).channelCredentials();
                assertEquals(6, generatedTokens(service.port(), withCertificate));
                StatusRuntimeException plaintext = assertThrows(StatusRuntimeException.class,
                        () -> generatedTokens(service.port(), InsecureChannelCredentials.create()));
                assertEquals(Status.Code.UNAVAILABLE, plaintext.getStatus().getCode(), plaintext.getStatus().toString());
            }
        }
    }

    private static int generatedTokens(int port, ChannelCredentials credentials) throws InterruptedException {
        ManagedChannel channel = NettyChannelBuilder.forTarget("localhost:" + port, credentials).build();
        try {
            List<Integer> ids = new ArrayList<>();
            var responses = LlmServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
                    .generate(LlmServiceTest.text(new int[]{1, 2, 3, 4, 5}, LlmServiceTest.greedy(6)));
            while (responses.hasNext()) {
                GenerateResponse r = responses.next();
                r.getTokensList().forEach(t -> ids.add(t.getTokenId()));
            }
            return ids.size();
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
