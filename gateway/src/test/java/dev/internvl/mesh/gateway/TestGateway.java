package dev.internvl.mesh.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.proto.v1.ChatGrpc;
import dev.internvl.mesh.serving.Settings;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A real gateway process in this JVM ({@link GatewayMain#start}) on loopback ports, over the tiny test checkpoint
 * and a {@link FakeLanguageTier}, with HTTP and gRPC clients for it.
 */
final class TestGateway implements AutoCloseable {
    static final Path MODEL_DIR = Path.of("../testdata/golden/checkpoints/tiny-300m-style");
    static final Path TOKENIZER_DIR = Path.of("../testdata/golden/tokenizer/internvl2_5-qwen2");
    static final Path IMAGES = Path.of("../testdata/golden/images");
    static final String MODEL = "tiny-300m-style";
    static final ObjectMapper JSON = new ObjectMapper();

    final GatewayMain.Running running;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final ManagedChannel channel;

    /** @param settings on top of the model, loopback ports and the language tier's address */
    TestGateway(FakeLanguageTier llm, Map<String, String> settings) throws InterruptedException {
        Map<String, String> env = new HashMap<>(Map.of(
                "MODEL_DIR", MODEL_DIR.toString(),
                "TOKENIZER_DIR", TOKENIZER_DIR.toString(),
                "GATEWAY_HTTP_PORT", "0",
                "GATEWAY_GRPC_PORT", "0",
                "LLM_ADDR", llm.address(),
                "VISION_ADDR", "127.0.0.1:1"));
        env.putAll(settings);
        running = GatewayMain.start(new Settings(env));
        channel = NettyChannelBuilder.forAddress("127.0.0.1", running.grpc().port()).usePlaintext().build();
    }

    ChatGrpc.ChatBlockingStub grpc() {
        return ChatGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    ManagedChannel grpcChannel() {
        return channel;
    }

    ChatGrpc.ChatStub asyncGrpc() {
        return ChatGrpc.newStub(channel);
    }

    int httpPort() {
        return running.http().port();
    }

    HttpResponse<String> get(String path) {
        return send(request(path).GET());
    }

    HttpResponse<String> delete(String path) {
        return send(request(path).DELETE());
    }

    HttpResponse<String> post(String path, String body) {
        return send(request(path).POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    CompletableFuture<HttpResponse<String>> postAsync(String path, String body) {
        return http.sendAsync(request(path).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort() + path))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30));
    }

    private HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The response's JSON body, after checking its status. */
    static JsonNode json(HttpResponse<String> response, int expectedStatus) {
        if (response.statusCode() != expectedStatus) {
            throw new AssertionError("expected HTTP " + expectedStatus + ", got " + response.statusCode() + ": " + response.body());
        }
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The {@code data:} payloads of a server-sent event stream, in order. */
    static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (event.startsWith("data: ")) {
                out.add(event.substring("data: ".length()));
            }
        }
        return out;
    }

    /** The text of a streamed completion: its content deltas joined. */
    static String streamedContent(List<String> events) throws IOException {
        StringBuilder text = new StringBuilder();
        for (String event : events) {
            if (!event.equals("[DONE]")) {
                JsonNode choices = JSON.readTree(event).path("choices");
                if (!choices.isEmpty()) {
                    text.append(choices.get(0).path("delta").path("content").asText(""));
                }
            }
        }
        return text.toString();
    }

    /** A test image's bytes. */
    static byte[] image(String name) throws IOException {
        return Files.readAllBytes(IMAGES.resolve(name));
    }

    /** A test image as a data URI. */
    static String dataUri(String name) throws IOException {
        String type = name.endsWith(".jpg") ? "jpeg" : "png";
        return "data:image/" + type + ";base64," + Base64.getEncoder().encodeToString(image(name));
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            running.close();
        } catch (Exception e) {
            throw new IllegalStateException("the gateway did not stop cleanly", e);
        }
    }
}
