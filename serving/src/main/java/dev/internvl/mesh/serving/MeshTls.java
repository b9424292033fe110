package dev.internvl.mesh.serving;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Mutual TLS between the tiers, or plaintext where it is not configured. Set by three PEM files, as cert-manager
 * writes them into a Secret: {@value #CERT} (this service's certificate chain), {@value #KEY} (its private key,
 * PKCS#8) and {@value #CA} (the mesh's CA). With them every gRPC server serves with the certificate and requires a
 * client certificate signed by the CA, and every gRPC client presents the certificate and checks the server's
 * against the CA (and against the name it dialled). With none of them set everything speaks plaintext, as on
 * loopback; with only some set the service does not start.
 */
public final class MeshTls {
    public static final String CERT = "MESH_TLS_CERT";
    public static final String KEY = "MESH_TLS_KEY";
    public static final String CA = "MESH_TLS_CA";

    private static final MeshTls PLAINTEXT = new MeshTls(null, null, null);

    private final Path cert;
    private final Path key;
    private final Path ca;

    private MeshTls(Path cert, Path key, Path ca) {
        this.cert = cert;
        this.key = key;
        this.ca = ca;
    }

    /** Plaintext: for processes that only talk to each other on loopback (tests, tools). */
    public static MeshTls plaintext() {
        return PLAINTEXT;
    }

    /**
     * The configuration in {@code settings}, checked now so that a missing file, a key in the wrong format or a
     * certificate that does not parse stops the service at start, naming the variable.
     */
    public static MeshTls from(Settings settings) {
        List<String> set = new ArrayList<>();
        List<String> unset = new ArrayList<>();
        for (String name : List.of(CERT, KEY, CA)) {
            (settings.string(name).isPresent() ? set : unset).add(name);
        }
        if (set.isEmpty()) {
            return PLAINTEXT;
        }
        if (!unset.isEmpty()) {
            throw new IllegalArgumentException(CERT + ", " + KEY + " and " + CA + " configure TLS together: "
                    + String.join(" and ", set) + " set, " + String.join(" and ", unset) + " not");
        }
        MeshTls tls = new MeshTls(readable(settings, CERT), readable(settings, KEY), readable(settings, CA));
        tls.checkKeyFormat();
        try {
            // Building a server's TLS context parses the certificate, the key and the CA (it binds nothing).
            NettyServerBuilder.forPort(0, tls.serverCredentials());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the TLS files in " + CERT + ", " + KEY + " and " + CA
                    + " do not load: " + e.getMessage(), e);
        }
        return tls;
    }

    public boolean enabled() {
        return cert != null;
    }

    /** What a gRPC server serves with: TLS requiring a client certificate from the CA, or plaintext. */
    public ServerCredentials serverCredentials() {
        if (!enabled()) {
            return InsecureServerCredentials.create();
        }
        try {
            return TlsServerCredentials.newBuilder()
                    .keyManager(cert.toFile(), key.toFile())
                    .trustManager(ca.toFile())
                    .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                    .build();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the TLS files: " + e.getMessage(), e);
        }
    }

    /** What a gRPC client dials with: TLS presenting the certificate and trusting the CA, or plaintext. */
    public ChannelCredentials channelCredentials() {
        if (!enabled()) {
            return InsecureChannelCredentials.create();
        }
        try {
            return TlsChannelCredentials.newBuilder()
                    .keyManager(cert.toFile(), key.toFile())
                    .trustManager(ca.toFile())
                    .build();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the TLS files: " + e.getMessage(), e);
        }
    }

    private static Path readable(Settings settings, String name) {
        Path path = Path.of(settings.string(name).orElseThrow());
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new IllegalArgumentException(name + "=" + path + " is not a readable file");
        }
        return path;
    }

    /** Netty reads PKCS#8 keys only; cert-manager writes PKCS#1 for RSA unless told otherwise. */
    private void checkKeyFormat() {
        String pem;
        try {
            pem = Files.readString(key, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalArgumentException(KEY + "=" + key + " cannot be read: " + e.getMessage(), e);
        }
        if (pem.contains("-----BEGIN RSA PRIVATE KEY-----") || pem.contains("-----BEGIN EC PRIVATE KEY-----")) {
            throw new IllegalArgumentException(KEY + "=" + key + " holds a PKCS#1/SEC1 key; it must be PKCS#8 "
                    + "('BEGIN PRIVATE KEY'). With cert-manager set the Certificate's spec.privateKey.encoding: PKCS8");
        }
        if (!pem.contains("-----BEGIN PRIVATE KEY-----")) {
            throw new IllegalArgumentException(KEY + "=" + key + " holds no PEM private key ('BEGIN PRIVATE KEY')");
        }
    }
}
