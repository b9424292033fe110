package dev.internvl.mesh.gateway.conversation;

import dev.internvl.mesh.gateway.GatewayMetrics;
import dev.internvl.mesh.gateway.chat.ChatListener;
import dev.internvl.mesh.gateway.chat.ChatPlanner;
import dev.internvl.mesh.gateway.chat.ChatService;
import dev.internvl.mesh.gateway.chat.GenerationOptions;
import dev.internvl.mesh.gateway.openai.ApiError;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Server-side conversations as both front doors (HTTP and gRPC) serve them: the store's operations with the API's
 * limits, every store call timed and its failures turned into {@link ApiError}s, and a new turn answered over the
 * whole history.
 *
 * <p>A turn rebuilds the conversation as chat messages (system message, each earlier turn with its images loaded
 * from the store by hash, then the new message) so that the language tier's prefix cache holds the earlier turns
 * and the vision tier's cache the earlier images: both are keyed by content, and the history is sent as it was.
 * That is also why an image's tile limit is stored resolved: a later turn must tile it the same way.
 *
 * <p>Turns of one conversation are serialised: while one is being answered by this gateway, another is refused at
 * once with 409 rather than after its generation. Across gateways sharing a store, the store's optimistic append
 * is what decides, and the later turn fails with 409 when it completes.
 */
public final class ConversationService {
    private static final Logger LOG = LoggerFactory.getLogger(ConversationService.class);

    public static final int DEFAULT_PAGE_SIZE = 20;
    public static final int MAX_PAGE_SIZE = 100;
    public static final int MAX_METADATA_PAIRS = 16;
    public static final int MAX_METADATA_KEY_CHARS = 64;
    public static final int MAX_METADATA_VALUE_CHARS = 512;

    private final ConversationStore store;
    private final ChatService chat;
    private final ImagePolicy policy;
    private final GatewayMetrics metrics;
    private final TimeLimiter storeTimeLimit;
    /** Store calls run here so that the time limit can give up on a hung one. */
    private static final ExecutorService STORE_CALLS = Executors.newVirtualThreadPerTaskExecutor();
    /** Conversations with a turn being answered here, each mapped to a token of that turn. */
    private final Map<String, Object> turnsInFlight = new ConcurrentHashMap<>();

    public ConversationService(ConversationStore store, ChatService chat, ImagePolicy policy, GatewayMetrics metrics,
                               Duration storeTimeout) {
        this.store = store;
        this.chat = chat;
        this.policy = policy;
        this.metrics = metrics;
        this.storeTimeLimit = TimeLimiter.of("conversation-store", TimeLimiterConfig.custom()
                .timeoutDuration(storeTimeout).cancelRunningFuture(true).build());
    }

    public Conversation create(Optional<String> systemMessage, Map<String, String> metadata) {
        systemMessage.ifPresent(text -> ChatPlanner.checkText(text, "system_message"));
        checkMetadata(metadata);
        return storeCall("create", null, () -> store.create(systemMessage, metadata));
    }

    /** @throws ApiError 404 when there is no such conversation */
    public Conversation get(String id) {
        return storeCall("get", null, () -> store.get(id)).orElseThrow(() -> storeError(new ConversationNotFoundException(id), null));
    }

    /**
     * Conversations newest first.
     *
     * @param pageSize how many, 1 to {@link #MAX_PAGE_SIZE}; {@link #DEFAULT_PAGE_SIZE} when empty
     * @param cursor   where the previous page ended ({@link ConversationPage#nextCursor()}, {@link #cursorAfter})
     */
    public ConversationPage list(Optional<Integer> pageSize, Optional<String> cursor) {
        int limit = pageSize.orElse(DEFAULT_PAGE_SIZE);
        if (limit < 1 || limit > MAX_PAGE_SIZE) {
            throw ApiError.invalidRequest("Invalid page size " + limit + ": it must be from 1 to " + MAX_PAGE_SIZE + ".", "limit");
        }
        return storeCall("list", null, () -> store.list(limit, cursor));
    }

    /** The cursor that lists the conversations after the one with this id, or empty if there is none. */
    public Optional<String> cursorAfter(String id) {
        return storeCall("get", null, () -> store.get(id)).map(c -> c.summary().cursor());
    }

    /** @throws ApiError 404 when there is no such conversation */
    public void delete(String id) {
        if (!storeCall("delete", null, () -> store.delete(id))) {
            throw storeError(new ConversationNotFoundException(id), null);
        }
    }

    /**
     * Answers a user message in the context of the conversation, streaming to {@code listener}. The turn is
     * appended when the answer completes, on top of the turn count read here, and only then does the listener hear
     * the completion; an append that fails (a turn from elsewhere landed first, the conversation was deleted)
     * reaches it as an error instead. A failed or cancelled turn leaves the conversation as it was; the images it
     * stored are unreferenced and expire (see {@link ImagePolicy}).
     *
     * <p>Blocks on the store and while waiting for admission: call it off event loops.
     *
     * @param message  the new user message
     * @param maxTiles the request-wide tile limit, for images without their own
     * @throws ApiError before anything started: 404 for an unknown conversation, 409 while another turn of it is
     *                  being answered, 413 for images over the limits, or whatever {@link ChatService#start} throws
     */
    public ChatService.Handle postMessage(String id, List<ChatPlanner.Part> message, Optional<Integer> maxTiles,
                                          GenerationOptions options, ChatListener listener) {
        if (message.isEmpty()) {
            throw ApiError.invalidRequest("The message has no content.", "content");
        }
        Instant arrived = Instant.now();
        Object token = new Object();
        if (turnsInFlight.putIfAbsent(id, token) != null) {
            throw new ApiError(409, "invalid_request_error", "Conversation '" + id + "' is already answering a message; "
                    + "send the next one once that answer has finished.", null, "conversation_busy");
        }
        Runnable release = () -> turnsInFlight.remove(id, token);
        try {
            Conversation conversation = get(id);
            Map<String, byte[]> images = new HashMap<>();
            List<ChatPlanner.Message> messages = history(conversation, images);
            Map<String, Long> imageSizes = new LinkedHashMap<>();
            images.forEach((hash, bytes) -> imageSizes.put(hash, (long) bytes.length));
            List<Turn.Part> stored = new ArrayList<>();
            for (ChatPlanner.Part part : message) {
                switch (part) {
                    case ChatPlanner.Text t -> stored.add(new Turn.Text(t.text()));
                    case ChatPlanner.Image img -> {
                        String hash = storeCall("put_image", img.param(), () -> store.putImage(img.bytes()));
                        imageSizes.putIfAbsent(hash, (long) img.bytes().length);
                        stored.add(new Turn.Image(hash, img.maxTiles().or(() -> maxTiles)));
                    }
                }
            }
            // The store checks this too, but only when the turn is appended: refuse before generating for nothing.
            long imageBytes = imageSizes.values().stream().mapToLong(Long::longValue).sum();
            if (imageBytes > policy.maxConversationImageBytes()) {
                throw storeError(ImageTooLargeException.conversation(id, imageBytes, policy.maxConversationImageBytes()), null);
            }
            messages.add(new ChatPlanner.Message(ChatPlanner.Role.USER, message));
            TurnRecorder recorder = new TurnRecorder(id, conversation.turns().size(), stored, arrived, listener, release);
            ChatService.Handle generation = chat.start(messages, maxTiles, options, recorder);
            return () -> {
                generation.cancel();
                release.run();
            };
        } catch (RuntimeException e) {
            release.run();
            throw e;
        }
    }

    /** The conversation so far as chat messages, its images loaded into {@code images} by hash. */
    private List<ChatPlanner.Message> history(Conversation conversation, Map<String, byte[]> images) {
        List<ChatPlanner.Message> messages = new ArrayList<>();
        conversation.systemMessage().ifPresent(text ->
                messages.add(new ChatPlanner.Message(ChatPlanner.Role.SYSTEM, List.of(new ChatPlanner.Text(text)))));
        for (int t = 0; t < conversation.turns().size(); t++) {
            Turn turn = conversation.turns().get(t);
            List<ChatPlanner.Part> user = new ArrayList<>();
            for (int p = 0; p < turn.user().size(); p++) {
                switch (turn.user().get(p)) {
                    case Turn.Text text -> user.add(new ChatPlanner.Text(text.text()));
                    case Turn.Image image -> user.add(new ChatPlanner.Image(images.computeIfAbsent(image.sha256(), this::storedImage),
                            image.maxDynamicPatch(), "turns[" + t + "].user[" + p + "]"));
                }
            }
            messages.add(new ChatPlanner.Message(ChatPlanner.Role.USER, user));
            messages.add(new ChatPlanner.Message(ChatPlanner.Role.ASSISTANT, List.of(new ChatPlanner.Text(turn.assistant()))));
        }
        return messages;
    }

    private byte[] storedImage(String hash) {
        // The store keeps an image while a turn references it, so a missing one means storage lost data.
        return storeCall("get_image", null, () -> store.getImage(hash)).orElseThrow(() -> new ApiError(500, "server_error",
                "An image of this conversation (sha256:" + hash + ") is missing from storage.", null, "image_missing"));
    }

    private static void checkMetadata(Map<String, String> metadata) {
        if (metadata.size() > MAX_METADATA_PAIRS) {
            throw ApiError.invalidRequest("'metadata' may hold at most " + MAX_METADATA_PAIRS + " pairs, not "
                    + metadata.size() + ".", "metadata");
        }
        metadata.forEach((key, value) -> {
            if (key.length() > MAX_METADATA_KEY_CHARS) {
                throw ApiError.invalidRequest("'metadata' keys may have at most " + MAX_METADATA_KEY_CHARS
                        + " characters; '" + key.substring(0, MAX_METADATA_KEY_CHARS) + "...' has " + key.length() + ".", "metadata");
            }
            if (value.length() > MAX_METADATA_VALUE_CHARS) {
                throw ApiError.invalidRequest("'metadata." + key + "' may have at most " + MAX_METADATA_VALUE_CHARS
                        + " characters, not " + value.length() + ".", "metadata." + key);
            }
        });
    }

    /**
     * A store call, timed by operation, bounded by the store's time limit (a hung Redis must not hang requests),
     * its failures as the API reports them.
     *
     * @param param the request parameter an image error is about, or null
     */
    private <T> T storeCall(String operation, String param, Supplier<T> call) {
        long start = System.nanoTime();
        try {
            return storeTimeLimit.executeFutureSupplier(() -> CompletableFuture.supplyAsync(call, STORE_CALLS));
        } catch (ConversationStoreException e) {
            throw storeError(e, param);
        } catch (IllegalArgumentException e) { // a cursor or limit the store cannot use
            throw ApiError.invalidRequest(e.getMessage(), null);
        } catch (TimeoutException e) {
            throw new ApiError(503, "server_error", "The conversation store did not answer in time; please retry.", null,
                    "store_timeout").retryAfter(5);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            metrics.storeDuration.labelValues(operation).observe((System.nanoTime() - start) / 1e9);
        }
    }

    private static ApiError storeError(ConversationStoreException e, String param) {
        return switch (e) {
            case ConversationNotFoundException _ -> new ApiError(404, "invalid_request_error", e.getMessage(), null, "conversation_not_found");
            case ConversationConflictException _ -> new ApiError(409, "invalid_request_error", e.getMessage(), null, "conversation_conflict");
            case ImageTooLargeException _ -> new ApiError(413, "invalid_request_error", e.getMessage(), param, "image_too_large");
            case ImageNotFoundException _ -> new ApiError(409, "invalid_request_error", e.getMessage(), param, "image_not_found");
            case StoreUnavailableException _ -> {
                LOG.warn("conversation store unavailable: {}", String.valueOf(e.getCause()));
                yield new ApiError(503, "server_error", e.getMessage(), null, "store_unavailable").retryAfter(5);
            }
        };
    }

    /** Passes the answer on, and appends the turn before passing on its completion. */
    private final class TurnRecorder implements ChatListener {
        private final String conversationId;
        private final int expectedTurnCount;
        private final List<Turn.Part> user;
        private final Instant arrived;
        private final ChatListener listener;
        private final Runnable release;
        private final StringBuilder answer = new StringBuilder();

        TurnRecorder(String conversationId, int expectedTurnCount, List<Turn.Part> user, Instant arrived,
                     ChatListener listener, Runnable release) {
            this.conversationId = conversationId;
            this.expectedTurnCount = expectedTurnCount;
            this.user = user;
            this.arrived = arrived;
            this.listener = listener;
            this.release = release;
        }

        @Override
        public void onDelta(String text, List<TokenInfo> tokens) {
            answer.append(text);
            listener.onDelta(text, tokens);
        }

        @Override
        public void onComplete(String finishReason, Usage usage) {
            Turn turn = new Turn(user, answer.toString(), arrived, new Turn.Usage(usage.promptTokens(), usage.completionTokens()));
            try {
                storeCall("append_turn", null, () -> store.appendTurn(conversationId, expectedTurnCount, turn));
            } catch (ApiError e) {
                release.run();
                listener.onError(e);
                return;
            }
            // Released before the client hears the answer, so that its next message finds the conversation free.
            release.run();
            listener.onComplete(finishReason, usage);
        }

        @Override
        public void onError(ApiError error) {
            release.run();
            listener.onError(error);
        }
    }
}
