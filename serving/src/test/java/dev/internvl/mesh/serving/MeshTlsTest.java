package dev.internvl.mesh.serving;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Mutual TLS from MESH_TLS_*: who gets through to a server, and the errors a wrong configuration stops at. */
class MeshTlsTest {
    @TempDir
    Path dir;

    @Test
    void nothingSetMeansPlaintext() {
        assertFalse(MeshTls.from(new Settings(Map.of())).enabled());
    }

    @Test
    void onlyClientsWithACertificateFromTheMeshCaGetThrough() throws Exception {
        TestCertificates mesh = new TestCertificates(dir, "mesh-ca");
        Path[] server = mesh.leaf("server");
        Path[] client = mesh.leaf("client");
        MeshTls tls = MeshTls.from(settings(server[0], server[1], mesh.ca()));
        assertTrue(tls.enabled());
        TestCertificates other = new TestCertificates(dir.resolve("other"), "other-ca");
        try (GrpcServer grpc = GrpcServer.builder("127.0.0.1", 0, tls).start()) {
            grpc.setServing(true);
            int port = grpc.port();
            // A tier's own client: the same variables, another certificate from the same CA.
            assertEquals(ServingStatus.SERVING, check(port, MeshTls.from(settings(client[0], client[1], mesh.ca()))
                    .channelCredentials()));
            assertRefused(port, InsecureChannelCredentials.create());
            assertRefused(port, TlsChannelCredentials.newBuilder().trustManager(mesh.ca().toFile()).build());
            Path[] stranger = other.leaf("stranger");
            assertRefused(port, TlsChannelCredentials.newBuilder().keyManager(stranger[0].toFile(), stranger[1].toFile())
                    .trustManager(mesh.ca().toFile()).build());
        }
    }

    @Test
    void aClientRefusesAServerItsCaDidNotSign() throws Exception {
        TestCertificates mesh = new TestCertificates(dir, "mesh-ca");
        TestCertificates other = new TestCertificates(dir.resolve("other"), "other-ca");
        Path[] impostor = other.leaf("impostor");
        Path[] client = mesh.leaf("client");
        MeshTls impostorTls = MeshTls.from(settings(impostor[0], impostor[1], mesh.ca()));
        try (GrpcServer grpc = GrpcServer.builder("127.0.0.1", 0, impostorTls).start()) {
            grpc.setServing(true);
            assertRefused(grpc.port(), MeshTls.from(settings(client[0], client[1], mesh.ca())).channelCredentials());
        }
    }

    @Test
    void aPartialConfigurationSaysWhatIsMissing() throws IOException {
        TestCertificates mesh = new TestCertificates(dir, "mesh-ca");
        Path[] server = mesh.leaf("server");
        String message = assertThrows(IllegalArgumentException.class, () -> MeshTls.from(new Settings(Map.of(
                MeshTls.CERT, server[0].toString(), MeshTls.KEY, server[1].toString())))).getMessage();
        assertTrue(message.contains("MESH_TLS_CA not"), message);
    }

    @Test
    void wrongFilesAreClearErrors() {
        TestCertificates mesh = new TestCertificates(dir, "mesh-ca");
        Path[] server = mesh.leaf("server");
        Path ca = mesh.ca();
        String missing = assertThrows(IllegalArgumentException.class,
                () -> MeshTls.from(settings(server[0], dir.resolve("absent.key"), ca))).getMessage();
        assertTrue(missing.startsWith("MESH_TLS_KEY=") && missing.contains("is not a readable file"), missing);
        String sec1 = assertThrows(IllegalArgumentException.class,
                () -> MeshTls.from(settings(server[0], mesh.sec1Key("server"), ca))).getMessage();
        assertTrue(sec1.contains("must be PKCS#8") && sec1.contains("spec.privateKey.encoding: PKCS8"), sec1);
        String notACertificate = assertThrows(IllegalArgumentException.class,
                () -> MeshTls.from(settings(server[1], server[1], ca))).getMessage();
        assertTrue(notACertificate.contains("do not load"), notACertificate);
    }

    private static Settings settings(Path cert, Path key, Path ca) {
        return new Settings(Map.of(MeshTls.CERT, cert.toString(), MeshTls.KEY, key.toString(), MeshTls.CA, ca.toString()));
    }

    private static ServingStatus check(int port, ChannelCredentials credentials) throws InterruptedException {
        ManagedChannel channel = NettyChannelBuilder.forTarget("localhost:" + port, credentials).build();
        try {
            return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .check(HealthCheckRequest.getDefaultInstance()).getStatus();
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static void assertRefused(int port, ChannelCredentials credentials) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> check(port, credentials));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
    }
}
