package dev.internvl.mesh.gateway.images;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import dev.internvl.mesh.gateway.openai.ApiError;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Downloads over real sockets, all on 127.0.0.1: nothing here may reach another address. */
class ImageLoaderHttpTest {
    private static final String PARAM = "messages[0].content[1].image_url.url";
    private static final int LIMIT = 1024;
    private static final byte[] IMAGE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1, 2, 3, 4};
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private static HttpServer server;
    private static String base;
    private static final AtomicInteger requests = new AtomicInteger();

    private ImageLoader loader;

    @BeforeAll
    static void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(LOOPBACK, 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        route("/cat.png", ex -> send(ex, 200, "image/png", IMAGE));
        route("/untyped", ex -> send(ex, 200, null, IMAGE));
        route("/download.bin", ex -> send(ex, 200, "application/octet-stream", IMAGE));
        route("/exact.png", ex -> send(ex, 200, "image/png", new byte[LIMIT]));
        route("/page.html", ex -> send(ex, 200, "text/html; charset=utf-8", "<html>cat</html>".getBytes()));
        route("/missing.png", ex -> send(ex, 404, "text/plain", "no such image".getBytes()));
        route("/empty.png", ex -> send(ex, 200, "image/png", new byte[0]));
        route("/gzipped.png", ex -> {
            ex.getResponseHeaders().set("Content-Encoding", "gzip");
            send(ex, 200, "image/png", IMAGE);
        });
        route("/declared-big.png", ex -> send(ex, 200, "image/png", new byte[LIMIT + 1]));
        route("/chunked-big.png", ex -> {
            ex.getResponseHeaders().set("Content-Type", "image/png");
            ex.sendResponseHeaders(200, 0);
            try (OutputStream out = ex.getResponseBody()) {
                for (int i = 0; i < 1024; i++) {
                    out.write(new byte[1024]);
                    out.flush();
                }
            }
        });
        route("/stalls.png", ex -> {
            ex.getResponseHeaders().set("Content-Type", "image/png");
            ex.sendResponseHeaders(200, 0);
            ex.getResponseBody().write(IMAGE);
            ex.getResponseBody().flush();
            sleep(Duration.ofSeconds(5));
            ex.close();
        });
        route("/to-cat", ex -> redirect(ex, 302, "/cat.png"));
        route("/to-localhost", ex -> redirect(ex, 307, "http://localhost:" + port() + "/cat.png"));
        route("/to-elsewhere", ex -> redirect(ex, 301, "http://images.example.test/cat.png"));
        route("/to-file", ex -> redirect(ex, 302, "file:///etc/passwd"));
        route("/loop", ex -> redirect(ex, 302, "/loop"));
        server.start();
        base = "http://127.0.0.1:" + port();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
    }

    @BeforeEach
    void count() {
        requests.set(0);
    }

    @AfterEach
    void close() {
        if (loader != null) {
            loader.close();
        }
    }

    private static int port() {
        return server.getAddress().getPort();
    }

    private static void route(String path, HttpHandler handler) {
        server.createContext(path, ex -> {
            requests.incrementAndGet();
            try (ex) {
                handler.handle(ex);
            } catch (IOException e) {
                // The client hung up, as it does on oversized bodies.
            }
        });
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        if (type != null) {
            ex.getResponseHeaders().set("Content-Type", type);
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        ex.getResponseBody().write(body);
    }

    private static void redirect(HttpExchange ex, int status, String location) throws IOException {
        ex.getResponseHeaders().set("Location", location);
        ex.sendResponseHeaders(status, -1);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static ImageFetchConfig config(List<String> allowlist, boolean allowPrivate, Duration fetchTimeout, int maxRedirects) {
        return new ImageFetchConfig(LIMIT, true, allowlist, allowPrivate, Duration.ofSeconds(1), fetchTimeout, maxRedirects);
    }

    /** Loopback allowed: the setting tests need, and the only way to exercise a download here. */
    private ImageLoader open() {
        return open(config(List.of("127.0.0.1", "localhost"), true, Duration.ofSeconds(3), 3));
    }

    private ImageLoader open(ImageFetchConfig config) {
        loader = new ImageLoader(config);
        return loader;
    }

    private static void assertError(ImageLoader loader, String url, int status, String code, String message) {
        ApiError e = assertThrows(ApiError.class, () -> loader.load(url, PARAM));
        assertEquals(status, e.status());
        assertEquals("invalid_request_error", e.type());
        assertEquals(PARAM, e.param());
        assertEquals(code, e.code());
        assertEquals(message, e.getMessage());
    }

    @Test
    void downloadsFromAllowedHost() {
        ImageLoader l = open();
        assertArrayEquals(IMAGE, l.load(base + "/cat.png", PARAM));
        assertArrayEquals(IMAGE, l.load("http://localhost:" + port() + "/cat.png?size=small#top", PARAM));
        assertArrayEquals(IMAGE, l.load(base + "/untyped", PARAM));
        assertArrayEquals(IMAGE, l.load(base + "/download.bin", PARAM));
        assertArrayEquals(new byte[LIMIT], l.load(base + "/exact.png", PARAM));
    }

    @Test
    void refusesHostNotOnAllowlist() {
        ImageLoader l = open(config(List.of("images.example.test", "*.cdn.example.test"), true, Duration.ofSeconds(3), 3));
        assertError(l, base + "/cat.png", 400, "image_url_not_allowed", "The image URL '" + base
                + "/cat.png' names host '127.0.0.1', which is not on this server's allowlist for image URLs.");
        assertEquals(0, requests.get());
    }

    @Test
    void refusesLoopbackUnlessPrivateAddressesAreAllowed() {
        ImageLoader l = open(config(List.of("127.0.0.1", "localhost", "[::1]"), false, Duration.ofSeconds(3), 3));
        for (String host : List.of("127.0.0.1", "localhost", "[::1]")) {
            String url = "http://" + host + ":" + port() + "/cat.png";
            assertError(l, url, 400, "image_url_not_allowed", "The image URL '" + url + "' names host '" + host
                    + "', which resolves to a loopback, private or otherwise non-public address; this server does not "
                    + "fetch images from such addresses.");
        }
        assertEquals(0, requests.get());
    }

    @Test
    void timesOutOnServerThatNeverAnswers() throws IOException {
        // Connections queue in the backlog and the request is sent, but nothing ever reads or answers it.
        try (ServerSocket silent = new ServerSocket(0, 8, LOOPBACK)) {
            ImageLoader l = open(config(List.of("127.0.0.1"), true, Duration.ofMillis(300), 3));
            String url = "http://127.0.0.1:" + silent.getLocalPort() + "/cat.png";
            long start = System.nanoTime();
            assertError(l, url, 400, "image_fetch_failed", "Downloading the image URL '" + url + "' timed out after 300ms.");
            assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 2000);
        }
    }

    @Test
    void timeoutCoversASlowBody() {
        ImageLoader l = open(config(List.of("127.0.0.1"), true, Duration.ofMillis(500), 3));
        long start = System.nanoTime();
        assertError(l, base + "/stalls.png", 400, "image_fetch_failed",
                "Downloading the image URL '" + base + "/stalls.png' timed out after 500ms.");
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 2500);
    }

    @Test
    void refusesDeclaredOversizeResponse() {
        assertError(open(), base + "/declared-big.png", 413, "image_too_large", "The image from the image URL '" + base
                + "/declared-big.png' is larger than this server's limit of 1 KiB.");
    }

    @Test
    void cutsOffOversizeResponseWithoutLength() {
        assertError(open(), base + "/chunked-big.png", 413, "image_too_large", "The image from the image URL '" + base
                + "/chunked-big.png' is larger than this server's limit of 1 KiB.");
    }

    @Test
    void refusesNonImageContentType() {
        assertError(open(), base + "/page.html", 400, "invalid_image_format", "The image URL '" + base
                + "/page.html' returned Content-Type 'text/html; charset=utf-8', not an image of a supported type "
                + "(image/jpeg, image/png, image/gif, image/bmp and image/webp).");
    }

    @Test
    void namesTheStatusOfAFailedResponse() {
        assertError(open(), base + "/missing.png", 400, "image_fetch_failed", "Downloading the image URL '" + base
                + "/missing.png' failed: the server answered HTTP 404 Not Found.");
    }

    @Test
    void refusesEmptyBody() {
        assertError(open(), base + "/empty.png", 400, "image_fetch_failed", "Downloading the image URL '" + base
                + "/empty.png' failed: the server sent an empty body.");
    }

    @Test
    void refusesEncodedBody() {
        assertError(open(), base + "/gzipped.png", 400, "image_fetch_failed", "Downloading the image URL '" + base
                + "/gzipped.png' failed: the server sent the image with Content-Encoding 'gzip'.");
    }

    @Test
    void refusesTruncatedBody() throws Exception {
        String response = "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100\r\n\r\n0123456789";
        try (ServerSocket raw = answerOnce(response)) {
            String url = "http://127.0.0.1:" + raw.getLocalPort() + "/cut.png";
            assertError(open(), url, 400, "image_fetch_failed", "Downloading the image URL '" + url
                    + "' failed: the server closed the connection before the image was complete.");
        }
    }

    @Test
    void refusesMalformedResponse() throws Exception {
        try (ServerSocket raw = answerOnce("SMTP ready\r\n\r\n")) {
            String url = "http://127.0.0.1:" + raw.getLocalPort() + "/odd.png";
            assertError(open(), url, 400, "image_fetch_failed", "Downloading the image URL '" + url
                    + "' failed: the server sent a malformed HTTP response.");
        }
    }

    /** A bare server that reads one request head, writes {@code response} verbatim and hangs up. */
    private static ServerSocket answerOnce(String response) throws IOException {
        ServerSocket raw = new ServerSocket(0, 8, LOOPBACK);
        Thread.ofVirtual().start(() -> {
            try (Socket s = raw.accept()) {
                BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                    // the request head, up to its blank line
                }
                s.getOutputStream().write(response.getBytes(StandardCharsets.ISO_8859_1));
            } catch (IOException e) {
                // closed by the test
            }
        });
        return raw;
    }

    @Test
    void reportsRefusedConnection() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            closedPort = s.getLocalPort();
        }
        String url = "http://127.0.0.1:" + closedPort + "/cat.png";
        assertError(open(), url, 400, "image_fetch_failed", "Downloading the image URL '" + url
                + "' failed: could not connect to 127.0.0.1:" + closedPort + " (Connection refused).");
    }

    @Test
    void followsAllowedRedirects() {
        ImageLoader l = open();
        assertArrayEquals(IMAGE, l.load(base + "/to-cat", PARAM));
        assertArrayEquals(IMAGE, l.load(base + "/to-localhost", PARAM));
    }

    @Test
    void refusesRedirectToHostNotOnAllowlist() {
        assertError(open(), base + "/to-elsewhere", 400, "image_url_not_allowed",
                "The redirect to 'http://images.example.test/cat.png' from the image URL '" + base
                        + "/to-elsewhere' names host 'images.example.test', which is not on this server's allowlist "
                        + "for image URLs.");
    }

    @Test
    void refusesRedirectToOtherSchemes() {
        assertError(open(), base + "/to-file", 400, "image_url_not_allowed",
                "The redirect to 'file:///etc/passwd' from the image URL '" + base + "/to-file' is not an http(s) URL.");
    }

    @Test
    void stopsAfterTooManyRedirects() {
        assertError(open(), base + "/loop", 400, "image_fetch_failed", "Downloading the redirect to '" + base
                + "/loop' from the image URL '" + base + "/loop' failed: more than 3 redirects.");
        assertEquals(4, requests.get());
    }

    @Test
    void refusesRedirectsWhenTurnedOff() {
        ImageLoader l = open(config(List.of("127.0.0.1"), true, Duration.ofSeconds(3), 0));
        assertError(l, base + "/to-cat", 400, "image_url_not_allowed", "The image URL '" + base + "/to-cat' redirects to '"
                + base + "/cat.png'; this server does not follow redirects for image URLs.");
    }

    @Test
    void refusesUrlsWithCredentialsOrWithoutHost() {
        ImageLoader l = open();
        String withUser = "http://admin:secret@127.0.0.1:" + port() + "/cat.png";
        assertError(l, withUser, 400, "image_url_not_allowed",
                "The image URL '" + withUser + "' contains user credentials, which image URLs may not carry.");
        assertError(l, "http:///cat.png", 400, "invalid_image_url", "The image URL 'http:///cat.png' has no valid host name.");
        String spaced = base + "/a cat.png";
        assertError(l, spaced, 400, "invalid_image_url", "The image URL in '" + PARAM
                + "' is not a valid URL: Illegal character in path at index " + spaced.indexOf(' ') + ".");
        assertEquals(0, requests.get());
    }
}
