package dev.internvl.mesh.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.internvl.mesh.engine.EmbeddedModel;
import dev.internvl.mesh.engine.EngineSettings;
import dev.internvl.mesh.prompt.Turn;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A multi-turn conversation with an image through the whole mesh: the second turn reuses the first turn's KV
 * blocks and the image's embeddings (shown by the tiers' metrics), answers as the embedded engine does over the
 * same history, and the conversation survives a gateway restart.
 */
class ConversationEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static Mesh mesh;
    static EmbeddedModel embedded;
    static byte[] gray;

    @BeforeAll
    static void start() throws Exception {
        mesh = new Mesh(Map.of());
        embedded = EmbeddedModel.open(Mesh.MODEL, Mesh.TOKENIZER, 64L << 20, EngineSettings.defaults());
        gray = Files.readAllBytes(Mesh.GOLDEN.resolve("images/gen_gray_210x400.png"));
    }

    @AfterAll
    static void stop() throws Exception {
        embedded.close();
        mesh.close();
    }

    static HttpResponse<String> send(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(mesh.url(path))).header("Content-Type", "application/json");
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody()) : b.method(method, HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode say(String conversation, ArrayNode content) throws Exception {
        ObjectNode body = JSON.createObjectNode().put("temperature", 0).put("max_tokens", 12);
        body.set("content", content);
        HttpResponse<String> r = send("POST", "/v1/conversations/" + conversation + "/messages", body.toString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    static double metric(int port, String name) throws Exception {
        String text = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        double sum = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    static String reference(List<Turn> history, String question, List<EmbeddedModel.EncodedImage> images) throws Exception {
        return EmbeddedReference.greedy(embedded, history, question, images, 12).text();
    }

    @Test
    void aSecondTurnReusesTheFirstTurnsCacheAndSurvivesAGatewayRestart() throws Exception {
        HttpResponse<String> created = send("POST", "/v1/conversations", "{}");
        assertEquals(200, created.statusCode(), created.body());
        String id = JSON.readTree(created.body()).get("id").asText();

        ArrayNode first = JSON.createArrayNode();
        first.addObject().put("type", "image_url").putObject("image_url")
                .put("url", "data:image/png;base64," + Base64.getEncoder().encodeToString(gray));
        first.addObject().put("type", "text").put("text", "What is this?");
        String answer1 = say(id, first).get("choices").get(0).get("message").get("content").asText();

        int gatewayMetrics = mesh.gatewayPort;
        double cachedBefore = metric(gatewayMetrics, "gateway_cached_prompt_tokens_total");
        double cacheHitsBefore = metric(mesh.vision.metricsPort(), "vision_cache_hits_total");

        ArrayNode second = JSON.createArrayNode();
        second.addObject().put("type", "text").put("text", "And what colour is it?");
        JsonNode reply2 = say(id, second);
        String answer2 = reply2.get("choices").get(0).get("message").get("content").asText();

        int imageTokens = 3 * 256;
        assertTrue(reply2.get("usage").get("prompt_tokens_details").get("cached_tokens").asInt() >= imageTokens,
                "the first turn's image and text came from the prefix cache: " + reply2.get("usage"));
        assertTrue(metric(gatewayMetrics, "gateway_cached_prompt_tokens_total") - cachedBefore >= imageTokens,
                "the gateway's metric shows the reuse");
        assertEquals(cacheHitsBefore + 1, metric(mesh.vision.metricsPort(), "vision_cache_hits_total"),
                "the image was not encoded again");

        EmbeddedModel.EncodedImage image = embedded.encode(gray, embedded.config().minDynamicPatch(), embedded.config().maxDynamicPatch());
        assertEquals(reference(List.of(), "<image>\nWhat is this?", List.of(image)), answer1);
        assertEquals(reference(List.of(new Turn("<image>\nWhat is this?", answer1)), "And what colour is it?", List.of(image)), answer2);

        mesh.restartGateway();
        ArrayNode third = JSON.createArrayNode();
        third.addObject().put("type", "text").put("text", "Thanks.");
        say(id, third);
        JsonNode conversation = JSON.readTree(send("GET", "/v1/conversations/" + id, null).body());
        assertEquals(3, conversation.get("turns").size(), conversation.toString());
        assertEquals(answer2, conversation.get("turns").get(1).get("assistant").asText());
    }
}
