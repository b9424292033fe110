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
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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

    /**
     * cert-manager renews in place: a server whose files are replaced (here by a certificate from a new CA, and the
     * new CA) takes them up at the next reload, without a restart.
     */
    @Test
    void rotatedFilesAreTakenUpWithoutARestart() throws Exception {
        TestCertificates first = new TestCertificates(dir.resolve("first"), "first-ca");
        TestCertificates second = new TestCertificates(dir.resolve("second"), "second-ca");
        Path live = Files.createDirectories(dir.resolve("live"));
        Path cert = live.resolve("tls.crt");
        Path key = live.resolve("tls.key");
        Path ca = live.resolve("ca.crt");
        Path[] server = first.leaf("server");
        install(server[0], cert);
        install(server[1], key);
        install(first.ca(), ca);
        MeshTls tls = MeshTls.from(new Settings(Map.of(MeshTls.CERT, cert.toString(), MeshTls.KEY, key.toString(),
                MeshTls.CA, ca.toString(), MeshTls.RELOAD, "100ms")));
        Path[] firstClient = first.leaf("client");
        Path[] secondClient = second.leaf("client");
        ChannelCredentials before = MeshTls.from(settings(firstClient[0], firstClient[1], first.ca())).channelCredentials();
        ChannelCredentials after = MeshTls.from(settings(secondClient[0], secondClient[1], second.ca())).channelCredentials();
        try (GrpcServer grpc = GrpcServer.builder("127.0.0.1", 0, tls).start()) {
            grpc.setServing(true);
            int port = grpc.port();
            assertEquals(ServingStatus.SERVING, check(port, before));
            assertRefused(port, after);

            Path[] renewed = second.leaf("server");
            install(renewed[0], cert);
            install(renewed[1], key);
            install(second.ca(), ca);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (true) {
                try {
                    assertEquals(ServingStatus.SERVING, check(port, after));
                    break;
                } catch (StatusRuntimeException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(50);
                }
            }
            assertRefused(port, before);
        }
    }

    /** Replaces {@code target} in one step, as Kubernetes swaps a mounted Secret's files. */
    private static void install(Path source, Path target) throws IOException {
        Path next = Files.createTempFile(target.getParent(), "next", ".pem");
        Files.copy(source, next, StandardCopyOption.REPLACE_EXISTING);
        Files.move(next, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
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
