package dev.internvl.mesh.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.internvl.mesh.gateway.grpc.ChatGrpcService;
import dev.internvl.mesh.gateway.openai.ApiError;
import dev.internvl.mesh.proto.v1.ChatConversation;
import dev.internvl.mesh.proto.v1.ChatImage;
import dev.internvl.mesh.proto.v1.ChatMessage;
import dev.internvl.mesh.proto.v1.ChatOptions;
import dev.internvl.mesh.proto.v1.ChatPart;
import dev.internvl.mesh.proto.v1.ChatRole;
import dev.internvl.mesh.proto.v1.ChatToken;
import dev.internvl.mesh.proto.v1.CompleteChunk;
import dev.internvl.mesh.proto.v1.CompleteRequest;
import dev.internvl.mesh.proto.v1.CompleteResponse;
import dev.internvl.mesh.proto.v1.CreateConversationRequest;
import dev.internvl.mesh.proto.v1.DeleteConversationRequest;
import dev.internvl.mesh.proto.v1.FinishReason;
import dev.internvl.mesh.proto.v1.GenerateRequest;
import dev.internvl.mesh.proto.v1.GetConversationRequest;
import dev.internvl.mesh.proto.v1.ListConversationsRequest;
import dev.internvl.mesh.proto.v1.ListConversationsResponse;
import dev.internvl.mesh.proto.v1.PostMessageRequest;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static dev.internvl.mesh.gateway.ConversationsHttpTest.body;
import static dev.internvl.mesh.gateway.ConversationsHttpTest.imagePart;
import static dev.internvl.mesh.gateway.ConversationsHttpTest.sha256;
import static dev.internvl.mesh.gateway.ConversationsHttpTest.textPart;
import static dev.internvl.mesh.gateway.TestGateway.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The gateway's gRPC front door, {@code internvl.mesh.v1.Chat}, against the same service the HTTP API uses. */
class ChatGrpcTest {
    static final String TINY = ConversationsHttpTest.TINY;

    @TempDir
    static Path dir;
    static ModelTokenizer tokenizer;
    static FakeLanguageTier llm;
    static TestGateway gateway;

    @BeforeAll
    static void start() throws Exception {
        tokenizer = ModelTokenizer.load(TestGateway.TOKENIZER_DIR);
        llm = new FakeLanguageTier(tokenizer);
        gateway = new TestGateway(llm, Map.of("GATEWAY_STORE_PATH", dir.resolve("conversations.db").toString(),
                "MESH_IMAGE_MAX_BYTES", "100k"));
    }

    @AfterAll
    static void stop() throws Exception {
        gateway.close();
        llm.close();
        tokenizer.close();
    }

    static ChatPart text(String text) {
        return ChatPart.newBuilder().setText(text).build();
    }

    static ChatPart image(String name) throws Exception {
        return ChatPart.newBuilder().setImage(ChatImage.newBuilder().setData(ByteString.copyFrom(TestGateway.image(name)))).build();
    }

    static ChatMessage message(ChatRole role, ChatPart... parts) {
        return ChatMessage.newBuilder().setRole(role).addAllParts(List.of(parts)).build();
    }

    static CompleteRequest request(ChatMessage... messages) {
        return CompleteRequest.newBuilder().addAllMessages(List.of(messages)).build();
    }

    static String create() {
        return gateway.grpc().createConversation(CreateConversationRequest.getDefaultInstance()).getId();
    }

    static PostMessageRequest post(String id, ChatPart... parts) {
        return PostMessageRequest.newBuilder().setConversationId(id).addAllParts(List.of(parts)).build();
    }

    /** The streamed text, after checking that only the last chunk carries the finish reason and usage. */
    static String streamed(Iterator<CompleteChunk> chunks) {
        List<CompleteChunk> all = new ArrayList<>();
        chunks.forEachRemaining(all::add);
        CompleteChunk last = all.getLast();
        assertEquals(FinishReason.FINISH_REASON_STOP, last.getFinishReason());
        assertTrue(last.getUsage().getPromptTokens() > 0);
        assertTrue(last.getText().isEmpty());
        StringBuilder text = new StringBuilder();
        all.subList(0, all.size() - 1).forEach(c -> {
            assertEquals(FinishReason.FINISH_REASON_UNSPECIFIED, c.getFinishReason());
            text.append(c.getText());
        });
        return text.toString();
    }

    static void assertStatus(Status.Code code, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        assertFalse(e.getStatus().getDescription().isEmpty());
    }

    @Test
    void conversationsCanBeCreatedListedFetchedAndDeleted() throws Exception {
        ChatConversation created = gateway.grpc().createConversation(CreateConversationRequest.newBuilder()
                .setSystemMessage("Be brief.").putMetadata("topic", "cats").build());
        assertTrue(created.getId().startsWith("conv_"));
        assertEquals("Be brief.", created.getSystemMessage());
        assertEquals(Map.of("topic", "cats"), created.getMetadataMap());
        assertEquals(0, created.getTurnCount());
        Thread.sleep(2); // listings order by creation time in milliseconds
        String newer = create();

        ListConversationsResponse page = gateway.grpc().listConversations(ListConversationsRequest.newBuilder().setPageSize(1).build());
        assertEquals(newer, page.getConversations(0).getId());
        assertFalse(page.getNextPageToken().isEmpty());
        ListConversationsResponse next = gateway.grpc().listConversations(ListConversationsRequest.newBuilder()
                .setPageSize(1).setPageToken(page.getNextPageToken()).build());
        assertEquals(created.getId(), next.getConversations(0).getId());

        assertEquals(created, gateway.grpc().getConversation(GetConversationRequest.newBuilder().setId(created.getId()).build()));
        JsonNode overHttp = json(gateway.get("/v1/conversations/" + created.getId()), 200);
        assertEquals("Be brief.", overHttp.get("system_message").asText());
        assertEquals(created.getCreatedAtMillis() / 1000, overHttp.get("created_at").asLong());

        assertEquals(created.getId(), gateway.grpc().deleteConversation(DeleteConversationRequest.newBuilder().setId(created.getId()).build()).getId());
        assertStatus(Status.Code.NOT_FOUND, () -> gateway.grpc().getConversation(GetConversationRequest.newBuilder().setId(created.getId()).build()));
        assertStatus(Status.Code.NOT_FOUND, () -> gateway.grpc().deleteConversation(DeleteConversationRequest.newBuilder().setId(created.getId()).build()));
        json(gateway.get("/v1/conversations/" + created.getId()), 404);

        CreateConversationRequest.Builder tooMuch = CreateConversationRequest.newBuilder();
        IntStream.range(0, 17).forEach(i -> tooMuch.putMetadata("k" + i, "v"));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().createConversation(tooMuch.build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().listConversations(ListConversationsRequest.newBuilder().setPageSize(101).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().listConversations(ListConversationsRequest.newBuilder().setPageToken("nonsense").build()));
    }

    @Test
    void postMessageStreamsTheAnswerAndStoresTheTurn() throws Exception {
        String id = create();
        String first = streamed(gateway.grpc().postMessage(post(id, image(TINY), text("What is this?"))));
        GenerateRequest firstPrompt = llm.lastRequest();
        assertEquals(llm.answerTo(firstPrompt), first);
        String second = streamed(gateway.grpc().postMessage(post(id, text("And then?"))));
        GenerateRequest secondPrompt = llm.lastRequest();
        assertEquals(llm.answerTo(secondPrompt), second);
        assertEquals(firstPrompt.getSegments(1), secondPrompt.getSegments(1));

        ChatConversation stored = gateway.grpc().getConversation(GetConversationRequest.newBuilder().setId(id).build());
        assertEquals(2, stored.getTurnCount());
        assertEquals(sha256(TestGateway.image(TINY)), stored.getTurns(0).getUser(0).getImage().getSha256());
        assertEquals("What is this?", stored.getTurns(0).getUser(1).getText());
        assertEquals(first, stored.getTurns(0).getAssistant());
        assertEquals(second, stored.getTurns(1).getAssistant());
        assertEquals(first, json(gateway.get("/v1/conversations/" + id), 200).at("/turns/0/assistant").asText());
    }

    @Test
    void completeAndStreamCompleteGiveTheSameAnswerAsHttp() throws Exception {
        JsonNode overHttp = json(gateway.post("/v1/chat/completions", body("model", TestGateway.MODEL,
                "max_tokens", 64, "temperature", 0.5, "stop", List.of("###"),
                "messages", List.of(Map.of("role", "system", "content", "Be brief."),
                        Map.of("role", "user", "content", List.of(imagePart(TINY), textPart("Describe it."))),
                        Map.of("role", "assistant", "content", "A picture."),
                        Map.of("role", "user", "content", "More detail?")))), 200);
        GenerateRequest httpPrompt = llm.lastRequest();

        CompleteRequest request = CompleteRequest.newBuilder(request(
                        message(ChatRole.CHAT_ROLE_SYSTEM, text("Be brief.")),
                        message(ChatRole.CHAT_ROLE_USER, image(TINY), text("Describe it.")),
                        message(ChatRole.CHAT_ROLE_ASSISTANT, text("A picture.")),
                        message(ChatRole.CHAT_ROLE_USER, text("More detail?"))))
                .setOptions(ChatOptions.newBuilder().setMaxTokens(64).setTemperature(0.5).addStop("###"))
                .build();
        CompleteResponse whole = gateway.grpc().complete(request);
        GenerateRequest unaryPrompt = llm.lastRequest();
        String streamed = streamed(gateway.grpc().streamComplete(request));
        GenerateRequest streamedPrompt = llm.lastRequest();

        String httpText = overHttp.at("/choices/0/message/content").asText();
        assertEquals(httpText, whole.getText());
        assertEquals(httpText, streamed);
        assertEquals(FinishReason.FINISH_REASON_STOP, whole.getFinishReason());
        assertEquals(overHttp.at("/usage/prompt_tokens").asInt(), whole.getUsage().getPromptTokens());
        assertEquals(overHttp.at("/usage/completion_tokens").asInt(), whole.getUsage().getCompletionTokens());
        for (GenerateRequest prompt : List.of(unaryPrompt, streamedPrompt)) {
            assertEquals(httpPrompt.getSegmentsList(), prompt.getSegmentsList());
            assertEquals(httpPrompt.getSampling(), prompt.getSampling());
        }
    }

    /**
     * Log-probabilities over gRPC are the HTTP API's: the same tokens, values and alternatives in the whole answer
     * and across the streamed chunks; none listed unless asked for; the same range checks.
     */
    @Test
    void logprobsMatchTheHttpApi() throws Exception {
        JsonNode overHttp = json(gateway.post("/v1/chat/completions", body("model", TestGateway.MODEL,
                "logprobs", true, "top_logprobs", 2,
                "messages", List.of(Map.of("role", "user", "content", "Three little words?")))), 200);
        JsonNode content = overHttp.at("/choices/0/logprobs/content");
        CompleteRequest request = CompleteRequest.newBuilder(request(message(ChatRole.CHAT_ROLE_USER, text("Three little words?"))))
                .setOptions(ChatOptions.newBuilder().setLogprobs(true).setTopLogprobs(2)).build();
        CompleteResponse whole = gateway.grpc().complete(request);
        assertEquals(content.size(), whole.getTokensCount());
        assertTrue(whole.getTokensCount() > 1);
        for (int i = 0; i < content.size(); i++) {
            ChatToken token = whole.getTokens(i);
            assertEquals(content.get(i).get("token").asText(), token.getToken());
            assertEquals(content.get(i).get("logprob").asDouble(), token.getLogprob(), 1e-6);
            assertEquals(2, token.getTopLogprobsCount());
            for (int j = 0; j < 2; j++) {
                JsonNode alternative = content.get(i).get("top_logprobs").get(j);
                assertEquals(alternative.get("token").asText(), token.getTopLogprobs(j).getToken());
                assertEquals(alternative.get("logprob").asDouble(), token.getTopLogprobs(j).getLogprob(), 1e-6);
            }
        }
        List<ChatToken> streamedTokens = new ArrayList<>();
        gateway.grpc().streamComplete(request).forEachRemaining(c -> streamedTokens.addAll(c.getTokensList()));
        assertEquals(whole.getTokensList(), streamedTokens);

        CompleteRequest plain = request(message(ChatRole.CHAT_ROLE_USER, text("Three little words?")));
        assertEquals(0, gateway.grpc().complete(plain).getTokensCount());
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().complete(CompleteRequest.newBuilder(plain)
                .setOptions(ChatOptions.newBuilder().setLogprobs(true).setTopLogprobs(21)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().complete(CompleteRequest.newBuilder(plain)
                .setOptions(ChatOptions.newBuilder().setTopLogprobs(2)).build()));
    }

    @Test
    void badRequestsAndConflictsAreStatuses() throws Exception {
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().complete(CompleteRequest.getDefaultInstance()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().complete(request(
                message(ChatRole.CHAT_ROLE_USER, text("hi")), message(ChatRole.CHAT_ROLE_ASSISTANT, text("hello")))));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().complete(request(message(ChatRole.CHAT_ROLE_UNSPECIFIED, text("hi")))));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().complete(request(
                message(ChatRole.CHAT_ROLE_SYSTEM, image(TINY)), message(ChatRole.CHAT_ROLE_USER, text("hi")))));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().complete(request(message(ChatRole.CHAT_ROLE_USER, text("see <image>")))));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().complete(request(message(ChatRole.CHAT_ROLE_USER,
                ChatPart.newBuilder().setImage(ChatImage.newBuilder().setData(ByteString.copyFrom(TestGateway.image(TINY))).setMaxTiles(41)).build()))));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().complete(CompleteRequest.newBuilder(request(message(ChatRole.CHAT_ROLE_USER, text("hi"))))
                .setOptions(ChatOptions.newBuilder().setMaxTokens(0)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().complete(request(message(ChatRole.CHAT_ROLE_USER,
                ChatPart.newBuilder().setImage(ChatImage.newBuilder().setData(ByteString.copyFromUtf8("not an image"))).build()))));

        assertStatus(Status.Code.NOT_FOUND, () -> gateway.grpc().postMessage(post("conv_000000000000000000000000", text("hi"))).next());
        String id = create();
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> gateway.grpc().postMessage(post(id)).next());
        assertStatus(Status.Code.RESOURCE_EXHAUSTED, () -> gateway.grpc().postMessage(post(id, image("camera.png"), text("hi"))).next());

        CompletableFuture<String> first = CompletableFuture.supplyAsync(() ->
                streamed(gateway.grpc().postMessage(post(id, text(FakeLanguageTier.HOLD + " first")))));
        llm.awaitHolding(1);
        assertStatus(Status.Code.ABORTED, () -> gateway.grpc().postMessage(post(id, text("second"))).next());
        llm.releaseHeld();
        String answer = first.get(30, TimeUnit.SECONDS);
        ChatConversation stored = gateway.grpc().getConversation(GetConversationRequest.newBuilder().setId(id).build());
        assertEquals(1, stored.getTurnCount());
        assertEquals(answer, stored.getTurns(0).getAssistant());
    }

    @Test
    void cancellingAPostMessageCancelsTheGenerationAndStoresNothing() throws Exception {
        String id = create();
        int cancelled = llm.cancelled();
        CountDownLatch firstDelta = new CountDownLatch(1);
        Context.CancellableContext call = Context.current().withCancellation();
        call.run(() -> gateway.asyncGrpc().postMessage(post(id, text(FakeLanguageTier.HOLD + " long answer")), new StreamObserver<>() {
            @Override
            public void onNext(CompleteChunk chunk) {
                firstDelta.countDown();
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        }));
        assertTrue(firstDelta.await(10, TimeUnit.SECONDS));
        call.cancel(null);
        llm.awaitCancelled(cancelled + 1);

        assertEquals(0, gateway.grpc().getConversation(GetConversationRequest.newBuilder().setId(id).build()).getTurnCount());
        streamed(gateway.grpc().postMessage(post(id, text("and now?"))));
        assertEquals(1, gateway.grpc().getConversation(GetConversationRequest.newBuilder().setId(id).build()).getTurnCount());
    }

    @Test
    void theChatServiceReportsItsHealth() {
        HealthCheckResponse health = HealthGrpc.newBlockingStub(gateway.grpcChannel())
                .check(HealthCheckRequest.newBuilder().setService("internvl.mesh.v1.Chat").build());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
    }

    @ParameterizedTest
    @CsvSource({"400, INVALID_ARGUMENT", "404, NOT_FOUND", "409, ABORTED", "413, RESOURCE_EXHAUSTED",
            "429, RESOURCE_EXHAUSTED", "499, CANCELLED", "500, INTERNAL", "502, INTERNAL", "503, UNAVAILABLE",
            "504, DEADLINE_EXCEEDED"})
    void apiErrorsMapToStatusesWithTheirMessage(int httpStatus, Status.Code code) {
        Status status = ChatGrpcService.status(new ApiError(httpStatus, "t", "what went wrong", null, null)).getStatus();
        assertEquals(code, status.getCode());
        assertEquals("what went wrong", status.getDescription());
    }
}
