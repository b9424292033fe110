package dev.internvl.mesh.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.proto.v1.GenerateRequest;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static dev.internvl.mesh.gateway.TestGateway.JSON;
import static dev.internvl.mesh.gateway.TestGateway.json;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The conversations API over real HTTP, on the embedded store, with a double of the language tier. */
class ConversationsHttpTest {
    static final String TINY = "gen_tiny_37x23.png";

    @TempDir
    static Path dir;
    static ModelTokenizer tokenizer;
    static FakeLanguageTier llm;
    static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        tokenizer = ModelTokenizer.load(TestGateway.TOKENIZER_DIR);
        llm = new FakeLanguageTier(tokenizer);
        // 100 KiB per image and 40 KiB per conversation: the test images straddle both limits
        gateway = new TestGateway(llm, Map.of("GATEWAY_STORE_PATH", dir.resolve("conversations.db").toString(),
                "MESH_IMAGE_MAX_BYTES", "100k", "MESH_CONVERSATION_IMAGE_MAX_BYTES", "40k"));
    }

    @AfterAll
    static void stop() throws Exception {
        gateway.close();
        llm.close();
        tokenizer.close();
    }

    // --- helpers ---------------------------------------------------------------------------------------------------

    static String body(Object... keysAndValues) throws Exception {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return JSON.writeValueAsString(map);
    }

    static Map<String, Object> imagePart(String name) throws Exception {
        return Map.of("type", "image_url", "image_url", Map.of("url", TestGateway.dataUri(name)));
    }

    static Map<String, Object> textPart(String text) {
        return Map.of("type", "text", "text", text);
    }

    static String messages(String id) {
        return "/v1/conversations/" + id + "/messages";
    }

    static String create(TestGateway gateway, String body) {
        return json(gateway.post("/v1/conversations", body), 200).get("id").asText();
    }

    static JsonNode conversation(TestGateway gateway, String id) {
        return json(gateway.get("/v1/conversations/" + id), 200);
    }

    static HttpResponse<String> say(TestGateway gateway, String id, String text) throws Exception {
        return gateway.post(messages(id), body("content", text));
    }

    static String content(JsonNode completion) {
        return completion.at("/choices/0/message/content").asText();
    }

    static List<String> ids(JsonNode list) {
        List<String> ids = new ArrayList<>();
        list.get("data").forEach(c -> ids.add(c.get("id").asText()));
        return ids;
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    static void assertError(HttpResponse<String> response, int status, String code, String param) {
        JsonNode error = json(response, status).get("error");
        if (code != null) {
            assertEquals(code, error.get("code").asText(), error.toString());
        }
        if (param != null) {
            assertEquals(param, error.get("param").asText(), error.toString());
        }
    }

    // --- tests -----------------------------------------------------------------------------------------------------

    @Test
    void createListGetAndDelete() throws Exception {
        JsonNode created = json(gateway.post("/v1/conversations", "{\"system_message\": \"Be brief.\", \"metadata\": {\"topic\": \"cats\"}}"), 200);
        String first = created.get("id").asText();
        assertTrue(first.startsWith("conv_"), first);
        assertEquals("conversation", created.get("object").asText());
        assertEquals("Be brief.", created.get("system_message").asText());
        assertEquals(Map.of("topic", "cats"), JSON.convertValue(created.get("metadata"), Map.class));
        assertEquals(0, created.get("turn_count").asInt());
        assertTrue(Math.abs(created.get("created_at").asLong() - Instant.now().getEpochSecond()) < 60);
        Thread.sleep(2); // listings order by creation time in milliseconds
        String second = create(gateway, "{}");
        Thread.sleep(2);
        String third = create(gateway, "{}");

        JsonNode page = json(gateway.get("/v1/conversations?limit=2"), 200);
        assertEquals("list", page.get("object").asText());
        assertEquals(List.of(third, second), ids(page));
        assertTrue(page.get("has_more").asBoolean());
        assertEquals(third, page.get("first_id").asText());
        assertEquals(second, page.get("last_id").asText());
        assertEquals(0, page.get("data").get(0).get("turn_count").asInt());
        JsonNode next = json(gateway.get("/v1/conversations?limit=2&after=" + second), 200);
        assertEquals(first, ids(next).getFirst());

        JsonNode got = conversation(gateway, first);
        assertEquals(created.get("created_at"), got.get("created_at"));
        assertEquals("Be brief.", got.get("system_message").asText());
        assertEquals(0, got.get("turns").size());
        assertTrue(conversation(gateway, second).get("system_message").isNull());

        JsonNode deleted = json(gateway.delete("/v1/conversations/" + first), 200);
        assertEquals(first, deleted.get("id").asText());
        assertEquals("conversation.deleted", deleted.get("object").asText());
        assertTrue(deleted.get("deleted").asBoolean());
        assertError(gateway.get("/v1/conversations/" + first), 404, "conversation_not_found", null);
        assertError(gateway.delete("/v1/conversations/" + first), 404, "conversation_not_found", null);
        assertFalse(ids(json(gateway.get("/v1/conversations?limit=100"), 200)).contains(first));
        assertError(gateway.get("/v1/conversations?after=" + first), 400, null, "after");
    }

    @Test
    void invalidRequestsAreRefusedWithTheParameterNamed() throws Exception {
        Map<String, String> tooMany = new LinkedHashMap<>();
        IntStream.range(0, 17).forEach(i -> tooMany.put("k" + i, "v"));
        assertError(gateway.post("/v1/conversations", body("metadata", tooMany)), 400, null, "metadata");
        assertError(gateway.post("/v1/conversations", body("metadata", Map.of("k", "v".repeat(513)))), 400, null, "metadata.k");
        assertError(gateway.post("/v1/conversations", body("metadata", Map.of("k".repeat(65), "v"))), 400, null, "metadata");
        assertError(gateway.post("/v1/conversations", body("metadata", Map.of("k", 1))), 400, null, "metadata.k");
        assertError(gateway.post("/v1/conversations", body("items", List.of())), 400, null, "items");
        assertError(gateway.post("/v1/conversations", body("system_message", "see <image>")), 400, null, "system_message");
        assertError(gateway.post("/v1/conversations", "{"), 400, null, null);
        for (String limit : new String[]{"0", "101", "ten"}) {
            assertError(gateway.get("/v1/conversations?limit=" + limit), 400, null, "limit");
        }

        String id = create(gateway, "{}");
        assertError(gateway.post(messages(id), body("content", List.of())), 400, null, "content");
        assertError(gateway.post(messages(id), "{}"), 400, null, "content");
        assertError(gateway.post(messages(id), body("content", "hi", "temperature", 3)), 400, null, "temperature");
        assertError(gateway.post(messages(id), body("content", "hi", "n", 2)), 400, null, "n");
        assertError(gateway.post(messages(id), body("content", "hi", "messages", List.of())), 400, null, "messages");
        assertError(gateway.post(messages(id), body("content", "hi", "model", "gpt-4o")), 404, "model_not_found", "model");
        assertEquals(0, conversation(gateway, id).get("turn_count").asInt());
    }

    @Test
    void unknownConversationsAre404() throws Exception {
        for (String id : new String[]{"conv_000000000000000000000000", "not-an-id"}) {
            assertError(gateway.get("/v1/conversations/" + id), 404, "conversation_not_found", null);
            assertError(gateway.delete("/v1/conversations/" + id), 404, "conversation_not_found", null);
            assertError(say(gateway, id, "hello?"), 404, "conversation_not_found", null);
        }
    }

    @Test
    void aSecondTurnSendsTheWholeHistoryWithTheFirstImageAndAppendsInOrder() throws Exception {
        String id = create(gateway, "{\"system_message\": \"You describe pictures.\"}");
        int before = llm.requests().size();

        JsonNode first = json(gateway.post(messages(id), body("content", List.of(imagePart(TINY), textPart("What is this?")))), 200);
        assertEquals("chat.completion", first.get("object").asText());
        assertEquals("stop", first.at("/choices/0/finish_reason").asText());
        GenerateRequest firstPrompt = llm.lastRequest();
        String firstAnswer = content(first);
        assertEquals(llm.answerTo(firstPrompt), firstAnswer);

        HttpResponse<String> streamed = gateway.post(messages(id), body("content", "And its colour?", "stream", true,
                "stream_options", Map.of("include_usage", true)));
        assertEquals(200, streamed.statusCode(), streamed.body());
        assertTrue(streamed.headers().firstValue("content-type").orElseThrow().startsWith("text/event-stream"));
        List<String> events = TestGateway.events(streamed.body());
        assertEquals("[DONE]", events.getLast());
        assertEquals("chat.completion.chunk", JSON.readTree(events.getFirst()).get("object").asText());
        GenerateRequest secondPrompt = llm.lastRequest();
        String secondAnswer = TestGateway.streamedContent(events);
        assertEquals(llm.answerTo(secondPrompt), secondAnswer);
        assertEquals(before + 2, llm.requests().size());

        // The second prompt is the first one, its answer, then the new question: the language tier's prefix cache
        // covers everything before the tail, and the image goes again with the same bytes and tiling, so the vision
        // tier's cache key is the same.
        assertEquals(3, firstPrompt.getSegmentsCount());
        assertEquals(3, secondPrompt.getSegmentsCount());
        assertEquals(firstPrompt.getSegments(0), secondPrompt.getSegments(0));
        assertEquals(firstPrompt.getSegments(1), secondPrompt.getSegments(1));
        assertArrayEquals(TestGateway.image(TINY), secondPrompt.getSegments(1).getImage().getImage().toByteArray());
        List<Integer> firstTail = firstPrompt.getSegments(2).getTokens().getIdsList();
        List<Integer> secondTail = secondPrompt.getSegments(2).getTokens().getIdsList();
        assertEquals(firstTail, secondTail.subList(0, firstTail.size()));
        String secondText = llm.promptText(secondPrompt);
        assertTrue(secondText.startsWith("<|im_start|>system\nYou describe pictures.<|im_end|>"), secondText);
        assertTrue(secondText.contains("What is this?<|im_end|>\n<|im_start|>assistant\n" + firstAnswer + "<|im_end|>"), secondText);
        assertTrue(secondText.endsWith("<|im_start|>user\nAnd its colour?<|im_end|>\n<|im_start|>assistant\n"), secondText);

        JsonNode stored = conversation(gateway, id);
        assertEquals(2, stored.get("turn_count").asInt());
        JsonNode turns = stored.get("turns");
        assertEquals("image", turns.at("/0/user/0/type").asText());
        assertEquals(sha256(TestGateway.image(TINY)), turns.at("/0/user/0/image/sha256").asText());
        assertEquals("What is this?", turns.at("/0/user/1/text").asText());
        assertEquals(firstAnswer, turns.at("/0/assistant").asText());
        assertEquals(first.at("/usage/prompt_tokens").asInt(), turns.at("/0/usage/prompt_tokens").asInt());
        assertEquals("And its colour?", turns.at("/1/user/0/text").asText());
        assertEquals(secondAnswer, turns.at("/1/assistant").asText());
        assertFalse(stored.toString().contains("base64"), "images are referenced, not inlined");

        String metrics = gateway.get("/metrics").body();
        for (String operation : new String[]{"create", "get", "put_image", "get_image", "append_turn"}) {
            assertTrue(metrics.contains("gateway_conversation_store_duration_seconds_count{operation=\"" + operation + "\"}"), operation);
        }
    }

    @Test
    void aFailedTurnLeavesTheConversationUnchanged() throws Exception {
        // A gateway of its own: the failures count against its circuit breaker for the language tier.
        try (TestGateway gateway = new TestGateway(llm, Map.of("GATEWAY_STORE_PATH", dir.resolve("failures/conversations.db").toString()))) {
            String id = create(gateway, "{}");
            json(say(gateway, id, "hello"), 200);

            assertError(say(gateway, id, FakeLanguageTier.FAIL + " now"), 500, null, null);
            HttpResponse<String> streamed = gateway.post(messages(id), body("content", FakeLanguageTier.FAIL + " streamed", "stream", true));
            List<String> events = TestGateway.events(streamed.body());
            assertTrue(events.stream().anyMatch(e -> e.startsWith("{\"error\"")), streamed.body());
            assertEquals("[DONE]", events.getLast());

            JsonNode stored = conversation(gateway, id);
            assertEquals(1, stored.get("turn_count").asInt());
            assertEquals(1, stored.get("turns").size());
            json(say(gateway, id, "still here"), 200);
            assertEquals(2, conversation(gateway, id).get("turn_count").asInt());
        }
    }

    @Test
    void aClientLeavingMidStreamCancelsTheTurnAndLeavesTheConversationUnchanged() throws Exception {
        String id = create(gateway, "{}");
        json(say(gateway, id, "first"), 200);
        int cancelled = llm.cancelled();

        byte[] request = body("content", FakeLanguageTier.HOLD + " go on", "stream", true).getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket("127.0.0.1", gateway.httpPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST " + messages(id) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + request.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(request);
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line;
            do {
                line = in.readLine();
            } while (line != null && !(line.startsWith("data: ") && line.contains("Echo")));
            assertTrue(line != null, "the stream ended before the first delta");
        }
        llm.awaitCancelled(cancelled + 1);

        assertEquals(1, conversation(gateway, id).get("turn_count").asInt());
        json(say(gateway, id, "after the disconnect"), 200);
        assertEquals(2, conversation(gateway, id).get("turn_count").asInt());
    }

    @Test
    void ofTwoConcurrentTurnsOneWinsAndTheOtherIs409() throws Exception {
        String id = create(gateway, "{}");
        CompletableFuture<HttpResponse<String>> first = gateway.postAsync(messages(id), body("content", FakeLanguageTier.HOLD + " first"));
        llm.awaitHolding(1);
        assertError(say(gateway, id, "second"), 409, "conversation_busy", null);
        llm.releaseHeld();
        String answer = content(json(first.get(30, TimeUnit.SECONDS), 200));

        JsonNode turns = conversation(gateway, id).get("turns");
        assertEquals(1, turns.size());
        assertEquals(FakeLanguageTier.HOLD + " first", turns.at("/0/user/0/text").asText());
        assertEquals(answer, turns.at("/0/assistant").asText());
    }

    @Test
    void imagesOverTheLimitsAre413BeforeAnythingIsGenerated() throws Exception {
        String id = create(gateway, "{}");
        int before = llm.requests().size();
        assertError(gateway.post(messages(id), body("content", List.of(imagePart("camera.png"), textPart("hi")))),
                413, "image_too_large", "content[0].image_url.url");
        json(gateway.post(messages(id), body("content", List.of(imagePart("gen_gray_210x400.png"), textPart("one")))), 200);
        HttpResponse<String> over = gateway.post(messages(id), body("content", List.of(imagePart("gen_photo_exif6_512x256.jpg"), textPart("two"))));
        assertError(over, 413, "image_too_large", null);
        assertTrue(over.body().contains("per conversation"), over.body());

        assertEquals(1, conversation(gateway, id).get("turn_count").asInt());
        assertEquals(before + 1, llm.requests().size());
    }

    @Test
    void aRestartedGatewayKeepsTheHistory() throws Exception {
        Map<String, String> settings = Map.of("GATEWAY_STORE_PATH", dir.resolve("restart/conversations.db").toString());
        String id;
        String firstAnswer;
        try (TestGateway before = new TestGateway(llm, settings)) {
            id = create(before, "{\"system_message\": \"Remember this.\"}");
            firstAnswer = content(json(before.post(messages(id), body("content", List.of(imagePart(TINY), textPart("Keep it")))), 200));
        }
        try (TestGateway after = new TestGateway(llm, settings)) {
            JsonNode stored = conversation(after, id);
            assertEquals(1, stored.get("turn_count").asInt());
            assertEquals(firstAnswer, stored.at("/turns/0/assistant").asText());

            json(say(after, id, "Still there?"), 200);
            GenerateRequest prompt = llm.lastRequest();
            assertArrayEquals(TestGateway.image(TINY), prompt.getSegments(1).getImage().getImage().toByteArray());
            assertTrue(llm.promptText(prompt).contains("Keep it<|im_end|>\n<|im_start|>assistant\n" + firstAnswer), llm.promptText(prompt));
            assertEquals(2, conversation(after, id).get("turn_count").asInt());
        }
    }
}
