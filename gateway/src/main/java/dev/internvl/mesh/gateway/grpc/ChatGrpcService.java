package dev.internvl.mesh.gateway.grpc;

import dev.internvl.mesh.gateway.chat.ChatListener;
import dev.internvl.mesh.gateway.chat.ChatListener.Alternative;
import dev.internvl.mesh.gateway.chat.ChatListener.TokenInfo;
import dev.internvl.mesh.gateway.chat.ChatPlanner;
import dev.internvl.mesh.gateway.chat.ChatService;
import dev.internvl.mesh.gateway.chat.GenerationOptions;
import dev.internvl.mesh.gateway.conversation.Conversation;
import dev.internvl.mesh.gateway.conversation.ConversationPage;
import dev.internvl.mesh.gateway.conversation.ConversationService;
import dev.internvl.mesh.gateway.conversation.ConversationSummary;
import dev.internvl.mesh.gateway.conversation.Turn;
import dev.internvl.mesh.gateway.openai.ApiError;
import dev.internvl.mesh.proto.v1.ChatConversation;
import dev.internvl.mesh.proto.v1.ChatGrpc;
import dev.internvl.mesh.proto.v1.ChatMessage;
import dev.internvl.mesh.proto.v1.ChatOptions;
import dev.internvl.mesh.proto.v1.ChatPart;
import dev.internvl.mesh.proto.v1.ChatToken;
import dev.internvl.mesh.proto.v1.ChatTurn;
import dev.internvl.mesh.proto.v1.CompleteChunk;
import dev.internvl.mesh.proto.v1.CompleteRequest;
import dev.internvl.mesh.proto.v1.CompleteResponse;
import dev.internvl.mesh.proto.v1.CreateConversationRequest;
import dev.internvl.mesh.proto.v1.DeleteConversationRequest;
import dev.internvl.mesh.proto.v1.DeleteConversationResponse;
import dev.internvl.mesh.proto.v1.FinishReason;
import dev.internvl.mesh.proto.v1.GetConversationRequest;
import dev.internvl.mesh.proto.v1.ListConversationsRequest;
import dev.internvl.mesh.proto.v1.ListConversationsResponse;
import dev.internvl.mesh.proto.v1.PostMessageRequest;
import dev.internvl.mesh.proto.v1.StoredImage;
import dev.internvl.mesh.proto.v1.StoredPart;
import dev.internvl.mesh.proto.v1.TokenLogprob;
import dev.internvl.mesh.proto.v1.Usage;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * {@code internvl.mesh.v1.Chat}, the gateway's gRPC front door: it only translates messages and statuses. Chats
 * are {@link ChatService}'s and conversations {@link ConversationService}'s, exactly as over HTTP; an
 * {@link ApiError} becomes the status of its HTTP code ({@link #status}) with the same message, and a cancelled
 * call cancels its generation.
 *
 * <p>Calls block on the conversation store and while waiting for admission, on gRPC's (unbounded) call executor.
 */
public final class ChatGrpcService extends ChatGrpc.ChatImplBase {
    private final ChatService chat;
    private final ConversationService conversations;

    public ChatGrpcService(ChatService chat, ConversationService conversations) {
        this.chat = chat;
        this.conversations = conversations;
    }

    @Override
    public void complete(CompleteRequest request, StreamObserver<CompleteResponse> responses) {
        answer(responses, () -> {
            GenerationOptions options = options(request.getOptions());
            return chat.start(messages(request.getMessagesList()), maxTiles(request.getOptions()), options,
                    new Whole(responses, options.logprobs()));
        });
    }

    @Override
    public void streamComplete(CompleteRequest request, StreamObserver<CompleteChunk> responses) {
        answer(responses, () -> {
            GenerationOptions options = options(request.getOptions());
            return chat.start(messages(request.getMessagesList()), maxTiles(request.getOptions()), options,
                    new Streamed(responses, options.logprobs()));
        });
    }

    @Override
    public void postMessage(PostMessageRequest request, StreamObserver<CompleteChunk> responses) {
        answer(responses, () -> {
            GenerationOptions options = options(request.getOptions());
            return conversations.postMessage(request.getConversationId(), parts(request.getPartsList(), "parts", true),
                    maxTiles(request.getOptions()), options, new Streamed(responses, options.logprobs()));
        });
    }

    @Override
    public void createConversation(CreateConversationRequest request, StreamObserver<ChatConversation> responses) {
        reply(responses, () -> summary(conversations.create(
                request.hasSystemMessage() ? Optional.of(request.getSystemMessage()) : Optional.empty(),
                request.getMetadataMap()).summary()).build());
    }

    @Override
    public void getConversation(GetConversationRequest request, StreamObserver<ChatConversation> responses) {
        reply(responses, () -> {
            Conversation conversation = conversations.get(request.getId());
            ChatConversation.Builder out = summary(conversation.summary());
            conversation.turns().forEach(turn -> out.addTurns(turn(turn)));
            return out.build();
        });
    }

    @Override
    public void listConversations(ListConversationsRequest request, StreamObserver<ListConversationsResponse> responses) {
        reply(responses, () -> {
            ConversationPage page = conversations.list(
                    request.getPageSize() == 0 ? Optional.empty() : Optional.of(request.getPageSize()),
                    request.getPageToken().isEmpty() ? Optional.empty() : Optional.of(request.getPageToken()));
            ListConversationsResponse.Builder out = ListConversationsResponse.newBuilder()
                    .setNextPageToken(page.nextCursor().orElse(""));
            page.conversations().forEach(c -> out.addConversations(summary(c)));
            return out.build();
        });
    }

    @Override
    public void deleteConversation(DeleteConversationRequest request, StreamObserver<DeleteConversationResponse> responses) {
        reply(responses, () -> {
            conversations.delete(request.getId());
            return DeleteConversationResponse.newBuilder().setId(request.getId()).build();
        });
    }

    /** An {@link ApiError} as the gRPC status of its HTTP code, with its message. */
    public static StatusRuntimeException status(ApiError error) {
        Status.Code code = switch (error.status()) {
            case 400 -> Status.Code.INVALID_ARGUMENT;
            case 404 -> Status.Code.NOT_FOUND;
            case 409 -> Status.Code.ABORTED;
            case 413, 429 -> Status.Code.RESOURCE_EXHAUSTED;
            case 499 -> Status.Code.CANCELLED;
            case 503 -> Status.Code.UNAVAILABLE;
            case 504 -> Status.Code.DEADLINE_EXCEEDED;
            default -> Status.Code.INTERNAL;
        };
        return code.toStatus().withDescription(error.getMessage()).asRuntimeException();
    }

    private static <T> void reply(StreamObserver<T> responses, Supplier<T> call) {
        T response;
        try {
            response = call.get();
        } catch (ApiError e) {
            responses.onError(status(e));
            return;
        }
        responses.onNext(response);
        responses.onCompleted();
    }

    /** Starts a generation whose listener answers the call, and cancels it when the client cancels. */
    private static void answer(StreamObserver<?> responses, Supplier<ChatService.Handle> start) {
        ChatService.Handle handle;
        try {
            handle = start.get();
        } catch (ApiError e) {
            responses.onError(status(e));
            return;
        }
        ((ServerCallStreamObserver<?>) responses).setOnCancelHandler(handle::cancel);
    }

    private static List<ChatPlanner.Message> messages(List<ChatMessage> messages) {
        if (messages.isEmpty()) {
            throw ApiError.invalidRequest("'messages' must not be empty.", "messages");
        }
        List<ChatPlanner.Message> out = new ArrayList<>();
        for (int m = 0; m < messages.size(); m++) {
            String where = "messages[" + m + "]";
            ChatPlanner.Role role = switch (messages.get(m).getRole()) {
                case CHAT_ROLE_SYSTEM -> ChatPlanner.Role.SYSTEM;
                case CHAT_ROLE_USER -> ChatPlanner.Role.USER;
                case CHAT_ROLE_ASSISTANT -> ChatPlanner.Role.ASSISTANT;
                default -> throw ApiError.invalidRequest("'" + where + ".role' must be system, user or assistant.", where + ".role");
            };
            out.add(new ChatPlanner.Message(role, parts(messages.get(m).getPartsList(), where + ".parts", role == ChatPlanner.Role.USER)));
        }
        return out;
    }

    private static List<ChatPlanner.Part> parts(List<ChatPart> parts, String where, boolean imagesAllowed) {
        List<ChatPlanner.Part> out = new ArrayList<>();
        for (int p = 0; p < parts.size(); p++) {
            ChatPart part = parts.get(p);
            String param = where + "[" + p + "]";
            switch (part.getKindCase()) {
                case TEXT -> out.add(new ChatPlanner.Text(ChatPlanner.checkText(part.getText(), param + ".text")));
                case IMAGE -> {
                    if (!imagesAllowed) {
                        throw ApiError.invalidRequest("Image content is only allowed in 'user' messages.", param);
                    }
                    if (part.getImage().getData().isEmpty()) {
                        throw ApiError.invalidRequest("'" + param + ".image.data' is empty.", param + ".image.data");
                    }
                    Optional<Integer> maxTiles = part.getImage().hasMaxTiles()
                            ? Optional.of(tileLimit(part.getImage().getMaxTiles(), param + ".image.max_tiles")) : Optional.empty();
                    out.add(new ChatPlanner.Image(part.getImage().getData().toByteArray(), maxTiles, param + ".image"));
                }
                case KIND_NOT_SET -> throw ApiError.invalidRequest("'" + param + "' has neither text nor an image.", param);
            }
        }
        return out;
    }

    private static Optional<Integer> maxTiles(ChatOptions options) {
        return options.hasMaxTiles() ? Optional.of(tileLimit(options.getMaxTiles(), "options.max_tiles")) : Optional.empty();
    }

    private static int tileLimit(int tiles, String param) {
        if (tiles < 1 || tiles > ChatPlanner.MAX_TILES_LIMIT) {
            throw ApiError.invalidRequest("'" + param + "' must be from 1 to " + ChatPlanner.MAX_TILES_LIMIT + ", not " + tiles + ".", param);
        }
        return tiles;
    }

    /** The options as the chat takes them; sampling ranges are checked where they are applied, in the language tier. */
    private static GenerationOptions options(ChatOptions o) {
        if (o.hasMaxTokens() && o.getMaxTokens() < 1) {
            throw ApiError.invalidRequest("'options.max_tokens' must be at least 1, not " + o.getMaxTokens() + ".", "options.max_tokens");
        }
        if (o.getTopLogprobs() < 0 || o.getTopLogprobs() > GenerationOptions.MAX_TOP_LOGPROBS) {
            throw ApiError.invalidRequest("'options.top_logprobs' must be from 0 to " + GenerationOptions.MAX_TOP_LOGPROBS
                    + ", not " + o.getTopLogprobs() + ".", "options.top_logprobs");
        }
        if (o.getTopLogprobs() > 0 && !o.getLogprobs()) {
            throw ApiError.invalidRequest("'options.top_logprobs' requires 'options.logprobs' to be true.", "options.top_logprobs");
        }
        return new GenerationOptions(
                o.hasMaxTokens() ? Optional.of(o.getMaxTokens()) : Optional.empty(),
                o.hasTemperature() ? Optional.of(o.getTemperature()) : Optional.empty(),
                o.hasTopP() ? Optional.of(o.getTopP()) : Optional.empty(),
                o.hasTopK() ? Optional.of(o.getTopK()) : Optional.empty(),
                o.hasRepetitionPenalty() ? Optional.of(o.getRepetitionPenalty()) : Optional.empty(),
                o.getStopList(),
                o.hasSeed() ? Optional.of(o.getSeed()) : Optional.empty(),
                o.getLogprobs(), o.getTopLogprobs());
    }

    private static ChatConversation.Builder summary(ConversationSummary c) {
        ChatConversation.Builder out = ChatConversation.newBuilder()
                .setId(c.id())
                .setCreatedAtMillis(c.createdAt().toEpochMilli())
                .putAllMetadata(c.metadata())
                .setTurnCount(c.turnCount());
        c.systemMessage().ifPresent(out::setSystemMessage);
        return out;
    }

    private static ChatTurn turn(Turn turn) {
        ChatTurn.Builder out = ChatTurn.newBuilder()
                .setAssistant(turn.assistant())
                .setCreatedAtMillis(turn.createdAt().toEpochMilli())
                .setPromptTokens(turn.usage().promptTokens())
                .setCompletionTokens(turn.usage().completionTokens());
        for (Turn.Part part : turn.user()) {
            switch (part) {
                case Turn.Text t -> out.addUser(StoredPart.newBuilder().setText(t.text()));
                case Turn.Image img -> {
                    StoredImage.Builder image = StoredImage.newBuilder().setSha256(img.sha256());
                    img.maxDynamicPatch().ifPresent(image::setMaxTiles);
                    out.addUser(StoredPart.newBuilder().setImage(image));
                }
            }
        }
        return out.build();
    }

    private static FinishReason finishReason(String reason) {
        return "length".equals(reason) ? FinishReason.FINISH_REASON_LENGTH : FinishReason.FINISH_REASON_STOP;
    }

    private static Usage usage(ChatListener.Usage usage) {
        return Usage.newBuilder().setPromptTokens(usage.promptTokens()).setCompletionTokens(usage.completionTokens())
                .setCachedPromptTokens(usage.cachedPromptTokens()).build();
    }

    /** A generated token as the API lists it. */
    private static ChatToken chatToken(TokenInfo t) {
        ChatToken.Builder out = ChatToken.newBuilder().setTokenId(t.id()).setToken(t.text()).setLogprob((float) t.logprob());
        for (Alternative a : t.top()) {
            out.addTopLogprobs(TokenLogprob.newBuilder().setTokenId(a.id()).setToken(a.text()).setLogprob((float) a.logprob()));
        }
        return out.build();
    }

    /**
     * Streams the answer: a chunk per delta (with its tokens when log-probabilities were asked for), then one with
     * the finish reason and usage.
     */
    private record Streamed(StreamObserver<CompleteChunk> responses, boolean logprobs) implements ChatListener {
        @Override
        public void onDelta(String text, List<TokenInfo> tokens) {
            boolean withTokens = logprobs && !tokens.isEmpty();
            if (text.isEmpty() && !withTokens) {
                return;
            }
            CompleteChunk.Builder chunk = CompleteChunk.newBuilder().setText(text);
            if (withTokens) {
                tokens.forEach(t -> chunk.addTokens(chatToken(t)));
            }
            responses.onNext(chunk.build());
        }

        @Override
        public void onComplete(String finishReason, ChatListener.Usage usage) {
            responses.onNext(CompleteChunk.newBuilder().setFinishReason(finishReason(finishReason)).setUsage(usage(usage)).build());
            responses.onCompleted();
        }

        @Override
        public void onError(ApiError error) {
            responses.onError(status(error));
        }
    }

    /** Gathers the answer (and its tokens when log-probabilities were asked for) and replies once with all of it. */
    private static final class Whole implements ChatListener {
        private final StreamObserver<CompleteResponse> responses;
        private final boolean logprobs;
        private final CompleteResponse.Builder answer = CompleteResponse.newBuilder();
        private final StringBuilder text = new StringBuilder();

        Whole(StreamObserver<CompleteResponse> responses, boolean logprobs) {
            this.responses = responses;
            this.logprobs = logprobs;
        }

        @Override
        public void onDelta(String delta, List<TokenInfo> tokens) {
            text.append(delta);
            if (logprobs) {
                tokens.forEach(t -> answer.addTokens(chatToken(t)));
            }
        }

        @Override
        public void onComplete(String finishReason, ChatListener.Usage usage) {
            responses.onNext(answer.setText(text.toString()).setFinishReason(finishReason(finishReason))
                    .setUsage(usage(usage)).build());
            responses.onCompleted();
        }

        @Override
        public void onError(ApiError error) {
            responses.onError(status(error));
        }
    }
}
