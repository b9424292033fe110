package dev.internvl.mesh.gateway.images;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.internvl.mesh.gateway.openai.ApiError;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The connection goes to the checked address, yet TLS must still verify the certificate against the URL's host
 * name. The server on 127.0.0.1 holds a self-signed certificate for the name {@code localhost} only.
 */
class ImageLoaderHttpsTest {
    private static final String PARAM = "messages[0].content[0].image_url.url";
    private static final byte[] IMAGE = {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xe0, 0, 16, 'J', 'F', 'I', 'F'};
    private static final char[] PASSWORD = "changeit".toCharArray();

    private static HttpsServer server;
    private static X509Certificate certificate;

    @BeforeAll
    static void start(@TempDir Path dir) throws Exception {
        Path keystore = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", new String(PASSWORD))
                .redirectErrorStream(true).redirectOutput(dir.resolve("keytool.log").toFile()).start();
        assertTrue(keytool.waitFor(60, TimeUnit.SECONDS), "keytool timed out");
        assertEquals(0, keytool.exitValue(), () -> read(dir.resolve("keytool.log")));

        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            keys.load(in, PASSWORD);
        }
        certificate = (X509Certificate) keys.getCertificate("server");
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, PASSWORD);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);

        server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.createContext("/photo.jpg", ex -> {
            try (ex) {
                ex.getResponseHeaders().set("Content-Type", "image/jpeg");
                ex.sendResponseHeaders(200, IMAGE.length);
                ex.getResponseBody().write(IMAGE);
            }
        });
        server.start();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    private static ImageFetchConfig config() {
        return new ImageFetchConfig(1 << 20, true, List.of("localhost", "127.0.0.1"), true,
                Duration.ofSeconds(2), Duration.ofSeconds(5), 3);
    }

    private static String url(String host) {
        return "https://" + host + ":" + server.getAddress().getPort() + "/photo.jpg";
    }

    private static ApiError failure(ImageLoader loader, String url) {
        ApiError e = assertThrows(ApiError.class, () -> loader.load(url, PARAM));
        assertEquals(400, e.status());
        assertEquals(PARAM, e.param());
        assertEquals("image_fetch_failed", e.code());
        return e;
    }

    @Test
    void downloadsWhenTheCertificateMatchesTheHostName() {
        try (ImageLoader loader = new ImageLoader(config(), List.of(certificate))) {
            assertArrayEquals(IMAGE, loader.load(url("localhost"), PARAM));
        }
    }

    @Test
    void verifiesTheHostNameThoughItConnectsToTheAddress() {
        try (ImageLoader loader = new ImageLoader(config(), List.of(certificate))) {
            String message = failure(loader, url("127.0.0.1")).getMessage();
            assertTrue(message.startsWith("Downloading the image URL '" + url("127.0.0.1")
                    + "' failed: the TLS handshake failed ("), message);
            assertTrue(message.endsWith("(No subject alternative names matching IP address 127.0.0.1 found)."), message);
        }
    }

    @Test
    void refusesACertificateTheJdkDoesNotTrust() {
        try (ImageLoader loader = new ImageLoader(config())) {
            String message = failure(loader, url("localhost")).getMessage();
            assertTrue(message.startsWith("Downloading the image URL '" + url("localhost")
                    + "' failed: the TLS handshake failed ("), message);
            assertTrue(message.endsWith("(unable to find valid certification path to requested target)."), message);
        }
    }
}
