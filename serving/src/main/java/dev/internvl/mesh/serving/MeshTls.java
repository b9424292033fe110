package dev.internvl.mesh.serving;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.AdvancedTlsX509TrustManager.Verification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Mutual TLS between the tiers, or plaintext where it is not configured. Set by three PEM files, as cert-manager
 * writes them into a Secret: {@value #CERT} (this service's certificate chain), {@value #KEY} (its private key,
 * PKCS#8) and {@value #CA} (the mesh's CA). With them every gRPC server serves with the certificate and requires a
 * client certificate signed by the CA, and every gRPC client presents the certificate and checks the server's
 * against the CA and the name it dialled. With none of them set everything speaks plaintext, as on loopback; with
 * only some set the service does not start.
 *
 * <p>The files are read again every {@value #RELOAD} (default one minute) and new handshakes use what they hold:
 * cert-manager renews certificates in place long before they expire, and Kubernetes updates a mounted Secret's
 * files, so a long-running tier never serves an expired certificate. A reload that fails (a file half written)
 * keeps the previous credentials and is retried at the next period.
 */
public final class MeshTls {
    private static final Logger LOG = LoggerFactory.getLogger(MeshTls.class);
    public static final String CERT = "MESH_TLS_CERT";
    public static final String KEY = "MESH_TLS_KEY";
    public static final String CA = "MESH_TLS_CA";
    public static final String RELOAD = "MESH_TLS_RELOAD";

    private static final MeshTls PLAINTEXT = new MeshTls(null, null, null);

    /** The one daemon thread that rereads every configuration's files. */
    private static final class Reloads {
        static final ScheduledExecutorService EXECUTOR = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("mesh-tls-reload").daemon().factory());
    }

    private final Path cert;
    private final Path key;
    private final Path ca;
    private final AdvancedTlsX509KeyManager identity = new AdvancedTlsX509KeyManager();
    /** Servers check client certificates against the CA only: a client's certificate does not name its host. */
    private final AdvancedTlsX509TrustManager clientCheck;
    /** Clients check the server's certificate against the CA and the name they dialled. */
    private final AdvancedTlsX509TrustManager serverCheck;
    /** The files' modification times at the last load that succeeded. */
    private List<FileTime> loaded = List.of();

    private MeshTls(Path cert, Path key, Path ca) {
        this.cert = cert;
        this.key = key;
        this.ca = ca;
        try {
            this.clientCheck = AdvancedTlsX509TrustManager.newBuilder()
                    .setVerification(Verification.CERTIFICATE_ONLY_VERIFICATION).build();
            this.serverCheck = AdvancedTlsX509TrustManager.newBuilder()
                    .setVerification(Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION).build();
        } catch (CertificateException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Plaintext: for processes that only talk to each other on loopback (tests, tools). */
    public static MeshTls plaintext() {
        return PLAINTEXT;
    }

    /**
     * The configuration in {@code settings}, loaded now so that a missing file, a key in the wrong format or a
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
        checkKeyFormat(tls.key);
        Duration reload = settings.duration(RELOAD, Duration.ofMinutes(1));
        if (reload.isNegative() || reload.isZero()) {
            throw new IllegalArgumentException(RELOAD + " must be positive, got " + reload);
        }
        try {
            tls.load();
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new IllegalArgumentException("the TLS files in " + CERT + ", " + KEY + " and " + CA
                    + " do not load: " + e.getMessage(), e);
        }
        Reloads.EXECUTOR.scheduleWithFixedDelay(tls::reloadIfChanged, reload.toMillis(), reload.toMillis(),
                TimeUnit.MILLISECONDS);
        return tls;
    }

    private synchronized void load() throws IOException, GeneralSecurityException {
        List<FileTime> times = modificationTimes();
        identity.updateIdentityCredentials(cert.toFile(), key.toFile());
        clientCheck.updateTrustCredentials(ca.toFile());
        serverCheck.updateTrustCredentials(ca.toFile());
        loaded = times;
    }

    /** Loads the files again if any changed since the last load; on failure keeps what it has and retries later. */
    private synchronized void reloadIfChanged() {
        try {
            if (modificationTimes().equals(loaded)) {
                return;
            }
            load();
            LOG.info("reloaded the TLS certificate, key and CA from {}, {} and {}", cert, key, ca);
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            LOG.warn("the TLS files did not reload, keeping the previous ones until the next try: {}", e.toString());
        }
    }

    /** The files' modification times, through symlinks (a mounted Secret's files link into a swapped directory). */
    private List<FileTime> modificationTimes() throws IOException {
        return List.of(Files.getLastModifiedTime(cert), Files.getLastModifiedTime(key), Files.getLastModifiedTime(ca));
    }

    public boolean enabled() {
        return cert != null;
    }

    /** What a gRPC server serves with: TLS requiring a client certificate from the CA, or plaintext. */
    public ServerCredentials serverCredentials() {
        if (!enabled()) {
            return InsecureServerCredentials.create();
        }
        return TlsServerCredentials.newBuilder()
                .keyManager(identity)
                .trustManager(clientCheck)
                .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                .build();
    }

    /** What a gRPC client dials with: TLS presenting the certificate and trusting the CA, or plaintext. */
    public ChannelCredentials channelCredentials() {
        if (!enabled()) {
            return InsecureChannelCredentials.create();
        }
        return TlsChannelCredentials.newBuilder().keyManager(identity).trustManager(serverCheck).build();
    }

    private static Path readable(Settings settings, String name) {
        Path path = Path.of(settings.string(name).orElseThrow());
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new IllegalArgumentException(name + "=" + path + " is not a readable file");
        }
        return path;
    }

    /** Only PKCS#8 keys load; cert-manager writes PKCS#1 for RSA unless told otherwise. */
    private static void checkKeyFormat(Path key) {
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
