package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.internvl.mesh.gateway.chat.ChatPlanner;
import dev.internvl.mesh.gateway.conversation.Conversation;
import dev.internvl.mesh.gateway.conversation.ConversationPage;
import dev.internvl.mesh.gateway.conversation.ConversationService;
import dev.internvl.mesh.gateway.conversation.ConversationSummary;
import dev.internvl.mesh.gateway.conversation.Turn;
import dev.internvl.mesh.gateway.http.HttpExchange;
import dev.internvl.mesh.gateway.http.HttpServer;
import dev.internvl.mesh.gateway.images.ImageLoader;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static dev.internvl.mesh.gateway.openai.JsonFields.optionalString;
import static dev.internvl.mesh.gateway.openai.JsonFields.typeError;

/**
 * The conversations API: conversations kept by the server, in the shape of OpenAI's conversation objects, whose
 * messages are answered as chat completions over the whole history.
 * <ul>
 *   <li>{@code POST /v1/conversations} {@code {"system_message"?, "metadata"?}}: the new conversation</li>
 *   <li>{@code GET /v1/conversations?limit=&after=}: newest first, as an OpenAI list ({@code after} is the last
 *       id of the previous page)</li>
 *   <li>{@code GET /v1/conversations/{id}}: the conversation with its turns, images as SHA-256 references</li>
 *   <li>{@code DELETE /v1/conversations/{id}}</li>
 *   <li>{@code POST /v1/conversations/{id}/messages} {@code {"content", "stream"?, sampling fields?...}}: the
 *       answer, as {@code /v1/chat/completions} gives it; the turn is stored once the answer has finished</li>
 * </ul>
 * Every handler blocks on the store: route them through {@link HttpServer#blocking}.
 */
public final class ConversationsHandler {
    public static final String COLLECTION = "/v1/conversations";
    public static final String ONE = "/v1/conversations/{id}";
    public static final String MESSAGES = "/v1/conversations/{id}/messages";

    private static final Set<String> CREATE_FIELDS = Set.of("system_message", "metadata");
    private static final Set<String> MESSAGE_FIELDS;

    static {
        Set<String> fields = new HashSet<>(GenerationFields.NAMES);
        fields.addAll(Set.of("model", "content", "user"));
        MESSAGE_FIELDS = Set.copyOf(fields);
    }

    private final ObjectMapper json;
    private final ConversationService conversations;
    private final ImageLoader images;
    private final String modelName;

    public ConversationsHandler(ObjectMapper json, ConversationService conversations, ImageLoader images, String modelName) {
        this.json = json;
        this.conversations = conversations;
        this.images = images;
        this.modelName = modelName;
    }

    public void create(HttpExchange exchange) {
        JsonNode root = JsonFields.readObject(json, exchange.body());
        JsonFields.refuseUnknown(root, CREATE_FIELDS, "");
        Conversation created = conversations.create(optionalString(root, "system_message"), metadata(root.get("metadata")));
        exchange.sendJson(200, summaryJson(created.summary()));
    }

    public void list(HttpExchange exchange) {
        Optional<Integer> limit = exchange.queryParameter("limit").map(ConversationsHandler::integer);
        Optional<String> cursor = exchange.queryParameter("after").map(after -> conversations.cursorAfter(after)
                .orElseThrow(() -> ApiError.invalidRequest("Invalid value for 'after': no conversation with id '" + after
                        + "' exists (it may have been deleted); list again from the first page.", "after")));
        ConversationPage page = conversations.list(limit, cursor);
        ObjectNode body = json.createObjectNode().put("object", "list");
        ArrayNode data = body.putArray("data");
        page.conversations().forEach(c -> data.add(summaryJson(c)));
        List<ConversationSummary> listed = page.conversations();
        body.put("first_id", listed.isEmpty() ? null : listed.getFirst().id());
        body.put("last_id", listed.isEmpty() ? null : listed.getLast().id());
        body.put("has_more", page.nextCursor().isPresent());
        exchange.sendJson(200, body);
    }

    public void get(HttpExchange exchange) {
        Conversation conversation = conversations.get(HttpServer.pathParameter(ONE, exchange.path(), "id"));
        ObjectNode body = summaryJson(conversation.summary());
        ArrayNode turns = body.putArray("turns");
        conversation.turns().forEach(turn -> turns.add(turnJson(turn)));
        exchange.sendJson(200, body);
    }

    public void delete(HttpExchange exchange) {
        String id = HttpServer.pathParameter(ONE, exchange.path(), "id");
        conversations.delete(id);
        exchange.sendJson(200, json.createObjectNode().put("id", id).put("object", "conversation.deleted").put("deleted", true));
    }

    public void postMessage(HttpExchange exchange) {
        String id = HttpServer.pathParameter(MESSAGES, exchange.path(), "id");
        JsonNode root = JsonFields.readObject(json, exchange.body());
        JsonFields.refuseUnknown(root, MESSAGE_FIELDS, "");
        optionalString(root, "model").ifPresent(model -> ModelsHandler.checkModel(model, modelName));
        List<Content.Part> content = Content.parse(root.get("content"), "content", true);
        GenerationFields generation = GenerationFields.parse(root);
        List<ChatPlanner.Part> message = Content.load(content, "content", images);
        CompletionResponder.answer(exchange, json, modelName, generation, listener -> conversations.postMessage(id,
                message, generation.maxDynamicPatch(), generation.options(), listener));
    }

    private static int integer(String limit) {
        try {
            return Integer.parseInt(limit);
        } catch (NumberFormatException e) {
            throw ApiError.invalidRequest("Invalid value for 'limit': '" + limit + "' is not an integer.", "limit");
        }
    }

    private static Map<String, String> metadata(JsonNode node) {
        Map<String, String> metadata = new LinkedHashMap<>();
        if (node == null || node.isNull()) {
            return metadata;
        }
        if (!node.isObject()) {
            throw typeError("metadata", "an object of strings");
        }
        node.properties().forEach(field -> {
            if (!field.getValue().isTextual()) {
                throw typeError("metadata." + field.getKey(), "a string");
            }
            metadata.put(field.getKey(), field.getValue().asText());
        });
        return metadata;
    }

    private ObjectNode summaryJson(ConversationSummary c) {
        ObjectNode o = json.createObjectNode();
        o.put("id", c.id());
        o.put("object", "conversation");
        o.put("created_at", c.createdAt().getEpochSecond());
        o.put("system_message", c.systemMessage().orElse(null));
        ObjectNode metadata = o.putObject("metadata");
        c.metadata().forEach(metadata::put);
        o.put("turn_count", c.turnCount());
        return o;
    }

    private ObjectNode turnJson(Turn turn) {
        ObjectNode o = json.createObjectNode();
        o.put("created_at", turn.createdAt().getEpochSecond());
        ArrayNode user = o.putArray("user");
        for (Turn.Part part : turn.user()) {
            switch (part) {
                case Turn.Text t -> user.addObject().put("type", "text").put("text", t.text());
                case Turn.Image img -> {
                    ObjectNode image = user.addObject().put("type", "image").putObject("image");
                    image.put("sha256", img.sha256());
                    img.maxDynamicPatch().ifPresent(max -> image.put("max_dynamic_patch", max));
                }
            }
        }
        o.put("assistant", turn.assistant());
        o.putObject("usage")
                .put("prompt_tokens", turn.usage().promptTokens())
                .put("completion_tokens", turn.usage().completionTokens())
                .put("total_tokens", turn.usage().promptTokens() + turn.usage().completionTokens());
        return o;
    }
}
