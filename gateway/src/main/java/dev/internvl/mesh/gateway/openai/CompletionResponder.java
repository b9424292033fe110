package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.internvl.mesh.gateway.chat.ChatListener;
import dev.internvl.mesh.gateway.chat.ChatService;
import dev.internvl.mesh.gateway.http.HttpExchange;

import java.util.List;
import java.util.UUID;
import java.util.function.Function;

/**
 * Writes a generation as the OpenAI API does: one {@code chat.completion} object, or with {@code stream: true} a
 * first chunk with the role, content chunks, a last chunk with the finish reason, an optional usage chunk, then
 * {@code [DONE]}. The stream opens with the first event, so an error before any token is still a plain HTTP error
 * with its status; an error after that is sent as an event carrying the error object.
 */
public final class CompletionResponder implements ChatListener {
    private final HttpExchange exchange;
    private final ObjectMapper json;
    private final String id;
    private final String model;
    private final long created;
    private final boolean stream;
    private final boolean includeUsage;
    private final boolean logprobs;
    private final StringBuilder content = new StringBuilder();
    private final ArrayNode logprobContent;
    private HttpExchange.EventStream events;

    /**
     * Answers {@code exchange} with the generation that {@code start} begins for the listener it is given, and
     * cancels the generation if the client leaves. Starting may wait for admission: call this off event loops.
     *
     * @throws ApiError when the generation cannot start
     */
    public static void answer(HttpExchange exchange, ObjectMapper json, String model, GenerationFields generation,
                              Function<ChatListener, ChatService.Handle> start) {
        if (exchange.clientGone()) {
            return;
        }
        CompletionResponder responder = new CompletionResponder(exchange, json,
                "chatcmpl-" + UUID.randomUUID().toString().replace("-", ""), model, System.currentTimeMillis() / 1000,
                generation.stream(), generation.includeUsage(), generation.options().logprobs());
        ChatService.Handle handle = start.apply(responder);
        exchange.onClientGone(handle::cancel);
    }

    private CompletionResponder(HttpExchange exchange, ObjectMapper json, String id, String model, long created,
                                boolean stream, boolean includeUsage, boolean logprobs) {
        this.exchange = exchange;
        this.json = json;
        this.id = id;
        this.model = model;
        this.created = created;
        this.stream = stream;
        this.includeUsage = includeUsage;
        this.logprobs = logprobs;
        this.logprobContent = json.createArrayNode();
    }

    /** Opens the event stream with the chunk that names the role, if that has not happened yet. */
    private void open() {
        if (events == null) {
            events = exchange.startEventStream();
            ObjectNode delta = json.createObjectNode().put("role", "assistant").put("content", "");
            events.send(chunk(delta, null, null).toString());
        }
    }

    @Override
    public synchronized void onDelta(String text, List<TokenInfo> tokens) {
        ArrayNode tokenLogprobs = logprobs ? logprobEntries(tokens) : null;
        if (!stream) {
            content.append(text);
            if (tokenLogprobs != null) {
                logprobContent.addAll(tokenLogprobs);
            }
            return;
        }
        if (text.isEmpty() && tokenLogprobs == null) {
            return;
        }
        open();
        events.send(chunk(json.createObjectNode().put("content", text), null, tokenLogprobs).toString());
    }

    @Override
    public synchronized void onComplete(String finishReason, Usage usage) {
        if (!stream) {
            ObjectNode body = base("chat.completion");
            ObjectNode choice = body.putArray("choices").addObject();
            choice.put("index", 0);
            choice.putObject("message").put("role", "assistant").put("content", content.toString());
            if (logprobs) {
                choice.putObject("logprobs").set("content", logprobContent);
            } else {
                choice.putNull("logprobs");
            }
            choice.put("finish_reason", finishReason);
            body.set("usage", usageJson(usage));
            exchange.sendJson(200, body);
            return;
        }
        open();
        events.send(chunk(json.createObjectNode(), finishReason, null).toString());
        if (includeUsage) {
            ObjectNode last = base("chat.completion.chunk");
            last.putArray("choices");
            last.set("usage", usageJson(usage));
            events.send(last.toString());
        }
        events.send("[DONE]");
        events.close();
    }

    @Override
    public synchronized void onError(ApiError error) {
        if (events == null) {
            exchange.sendError(error);
            return;
        }
        events.send(error.toJson(json).toString());
        events.send("[DONE]");
        events.close();
    }

    private ObjectNode base(String object) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", created);
        o.put("model", model);
        o.put("system_fingerprint", (String) null);
        return o;
    }

    private ObjectNode chunk(ObjectNode delta, String finishReason, ArrayNode tokenLogprobs) {
        ObjectNode o = base("chat.completion.chunk");
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", 0);
        choice.set("delta", delta);
        if (tokenLogprobs != null) {
            choice.putObject("logprobs").set("content", tokenLogprobs);
        } else {
            choice.putNull("logprobs");
        }
        choice.put("finish_reason", finishReason);
        return o;
    }

    private ArrayNode logprobEntries(List<TokenInfo> tokens) {
        ArrayNode out = json.createArrayNode();
        for (TokenInfo t : tokens) {
            ObjectNode entry = tokenJson(t.text(), t.logprob());
            ArrayNode top = entry.putArray("top_logprobs");
            for (Alternative a : t.top()) {
                top.add(tokenJson(a.text(), a.logprob()));
            }
            out.add(entry);
        }
        return out;
    }

    private ObjectNode tokenJson(String text, double logprob) {
        ObjectNode o = json.createObjectNode();
        o.put("token", text);
        o.put("logprob", logprob);
        ArrayNode bytes = o.putArray("bytes");
        for (byte b : text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            bytes.add(b & 0xFF);
        }
        return o;
    }

    private ObjectNode usageJson(Usage usage) {
        ObjectNode u = json.createObjectNode();
        u.put("prompt_tokens", usage.promptTokens());
        u.put("completion_tokens", usage.completionTokens());
        u.put("total_tokens", usage.totalTokens());
        u.putObject("prompt_tokens_details").put("cached_tokens", usage.cachedPromptTokens());
        return u;
    }
}
