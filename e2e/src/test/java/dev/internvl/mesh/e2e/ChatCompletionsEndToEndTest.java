package dev.internvl.mesh.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.internvl.mesh.engine.EmbeddedModel;
import dev.internvl.mesh.engine.EngineSettings;
import dev.internvl.mesh.e2e.EmbeddedReference.Answer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chat completions through gateway, llm-service and vision-service on loopback, compared with the embedded
 * single-process engine on the same golden checkpoint: greedy answers must be identical.
 */
class ChatCompletionsEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static Mesh mesh;
    static EmbeddedModel embedded;
    static byte[] chelsea;
    static byte[] gray;

    @BeforeAll
    static void start() throws Exception {
        mesh = new Mesh(Map.of());
        embedded = EmbeddedModel.open(Mesh.MODEL, Mesh.TOKENIZER, 64L << 20, EngineSettings.defaults());
        chelsea = Files.readAllBytes(Mesh.GOLDEN.resolve("images/chelsea.png"));
        gray = Files.readAllBytes(Mesh.GOLDEN.resolve("images/gen_gray_210x400.png"));
    }

    @AfterAll
    static void stop() throws Exception {
        embedded.close();
        mesh.close();
    }

    // --- the embedded reference ------------------------------------------------------------------------------

    /** The embedded engine's greedy answer to one user turn: images first, each on its own line, then the text. */
    static Answer reference(String question, int maxTokens, byte[]... images) throws Exception {
        List<EmbeddedModel.EncodedImage> encoded = new ArrayList<>();
        StringBuilder q = new StringBuilder();
        for (byte[] image : images) {
            encoded.add(embedded.encode(image, embedded.config().minDynamicPatch(), embedded.config().maxDynamicPatch()));
            q.append("<image>\n");
        }
        return EmbeddedReference.greedy(embedded, List.of(), q.append(question).toString(), encoded, maxTokens);
    }

    // --- the mesh --------------------------------------------------------------------------------------------

    static ObjectNode chatBody(String question, int maxTokens, boolean stream, byte[]... images) {
        ObjectNode body = JSON.createObjectNode().put("model", Mesh.MODEL_NAME).put("max_tokens", maxTokens)
                .put("temperature", 0).put("stream", stream);
        if (stream) {
            body.putObject("stream_options").put("include_usage", true);
        }
        ArrayNode content = body.putArray("messages").addObject().put("role", "user").putArray("content");
        for (byte[] image : images) {
            content.addObject().put("type", "image_url").putObject("image_url")
                    .put("url", "data:image/png;base64," + Base64.getEncoder().encodeToString(image));
        }
        content.addObject().put("type", "text").put("text", question);
        return body;
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(mesh.url(path))).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static Answer complete(ObjectNode body) throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", body.toString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = JSON.readTree(r.body());
        JsonNode choice = json.get("choices").get(0);
        return new Answer(choice.get("message").get("content").asText(), choice.get("finish_reason").asText(),
                json.get("usage").get("prompt_tokens").asInt());
    }

    /** Reads a server-sent event stream: the content deltas joined, the finish reason, the usage chunk. */
    static Answer stream(ObjectNode body) throws Exception {
        HttpResponse<java.util.stream.Stream<String>> r = HTTP.send(HttpRequest.newBuilder(URI.create(mesh.url("/v1/chat/completions")))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, r.statusCode());
        assertEquals("text/event-stream; charset=utf-8", r.headers().firstValue("content-type").orElse(""));
        StringBuilder text = new StringBuilder();
        String finish = null;
        int prompt = -1;
        boolean done = false;
        for (String line : (Iterable<String>) r.body()::iterator) {
            if (!line.startsWith("data: ")) {
                continue;
            }
            String data = line.substring(6);
            if (data.equals("[DONE]")) {
                done = true;
                continue;
            }
            JsonNode chunk = JSON.readTree(data);
            assertEquals("chat.completion.chunk", chunk.get("object").asText());
            if (chunk.has("usage") && chunk.get("choices").isEmpty()) {
                prompt = chunk.get("usage").get("prompt_tokens").asInt();
                continue;
            }
            JsonNode choice = chunk.get("choices").get(0);
            text.append(choice.get("delta").path("content").asText(""));
            if (!choice.get("finish_reason").isNull()) {
                finish = choice.get("finish_reason").asText();
            }
        }
        assertTrue(done, "the stream ends with [DONE]");
        return new Answer(text.toString(), finish, prompt);
    }

    @Test
    void twoImagesAndTextStreamTheEmbeddedEnginesAnswer() throws Exception {
        Answer expected = reference("Describe the two images.", 24, chelsea, gray);
        Answer got = stream(chatBody("Describe the two images.", 24, true, chelsea, gray));
        assertEquals(expected, got);
        assertTrue(got.promptTokens() > 2500, "7 + 3 tiles of 256 image tokens: " + got.promptTokens());
    }

    @Test
    void thirtyTwoConcurrentChatsEachGetTheEmbeddedEnginesAnswer() throws Exception {
        int n = 32;
        Answer[] expected = new Answer[n];
        for (int i = 0; i < n; i++) {
            expected[i] = i % 4 == 0 ? reference("Question " + i + ": what is shown?", 10, gray)
                    : reference("Question number " + i + ", in words.", 10);
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Answer>> answers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ObjectNode body = i % 4 == 0 ? chatBody("Question " + i + ": what is shown?", 10, i % 2 == 0, gray)
                        : chatBody("Question number " + i + ", in words.", 10, i % 2 == 0);
                answers.add(pool.submit(() -> body.get("stream").asBoolean() ? stream(body) : complete(body)));
            }
            for (int i = 0; i < n; i++) {
                assertEquals(expected[i], answers.get(i).get(180, TimeUnit.SECONDS), "chat " + i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aClientLeavingMidStreamFreesItsKvBlocks() throws Exception {
        String body = chatBody("Tell me a long story.", 5000, true).toString();
        try (Socket socket = new Socket("127.0.0.1", mesh.gatewayPort)) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            int events = 0;
            for (String line; events < 5 && (line = in.readLine()) != null; ) {
                if (line.contains("chat.completion.chunk")) {
                    events++;
                }
            }
            assertEquals(5, events, "tokens were streaming");
        }
        var cache = mesh.llm.engine().cache();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (cache.freeBlocks() != cache.blockCount() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(cache.blockCount(), cache.freeBlocks(), "the generation stopped and returned its blocks");
        assertTrue(mesh.llm.engine().stats().cancelled() >= 1);
    }

    @Test
    void withTheVisionTierStoppedImageChatsFailFastAndTextChatsWork() throws Exception {
        mesh.stopVision();
        try {
            long start = System.nanoTime();
            HttpResponse<String> image = post("/v1/chat/completions", chatBody("What is this?", 4, false, gray).toString());
            assertEquals(503, image.statusCode(), image.body());
            assertTrue(image.body().contains("the vision tier is down"), image.body());
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "fails fast");
            assertEquals(reference("Still there?", 4), complete(chatBody("Still there?", 4, false)));
        } finally {
            mesh.startVision();
        }
        // The circuit breaker lets image chats through again once the tier is back.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        HttpResponse<String> again;
        do {
            Thread.sleep(500);
            again = post("/v1/chat/completions", chatBody("What is this?", 4, false, gray).toString());
        } while (again.statusCode() != 200 && System.nanoTime() < deadline);
        assertEquals(200, again.statusCode(), again.body());
    }

    @Test
    void badRequestsGetClearFourHundreds() throws Exception {
        HttpResponse<String> badImage = post("/v1/chat/completions",
                chatBody("What?", 4, false, "not an image at all".getBytes(StandardCharsets.UTF_8)).toString());
        assertEquals(400, badImage.statusCode());
        JsonNode error = JSON.readTree(badImage.body()).get("error");
        assertEquals("invalid_image", error.get("code").asText());
        assertEquals("messages[0].content[0].image_url.url", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("not a supported image format") || error.get("message").asText().contains("image"),
                error.toString());

        HttpResponse<String> tooLong = post("/v1/chat/completions", chatBody("hello ".repeat(40_000), 16, false).toString());
        assertEquals(400, tooLong.statusCode());
        JsonNode tooLongError = JSON.readTree(tooLong.body()).get("error");
        assertEquals("context_length_exceeded", tooLongError.get("code").asText());
        assertTrue(tooLongError.get("message").asText().startsWith("This model's maximum context length is 32768 tokens."));

        HttpResponse<String> malformed = post("/v1/chat/completions", "{\"model\": ");
        assertEquals(400, malformed.statusCode());
        assertEquals("invalid_request_error", JSON.readTree(malformed.body()).get("error").get("type").asText());

        ObjectNode unknownField = chatBody("Hi", 4, false).put("frobnicate", true);
        HttpResponse<String> unknown = post("/v1/chat/completions", unknownField.toString());
        assertEquals(400, unknown.statusCode());
        assertEquals("Unrecognized request argument supplied: frobnicate", JSON.readTree(unknown.body()).get("error").get("message").asText());

        HttpResponse<String> otherModel = post("/v1/chat/completions", chatBody("Hi", 4, false).put("model", "gpt-4o").toString());
        assertEquals(404, otherModel.statusCode());
        assertEquals("model_not_found", JSON.readTree(otherModel.body()).get("error").get("code").asText());
    }
}
