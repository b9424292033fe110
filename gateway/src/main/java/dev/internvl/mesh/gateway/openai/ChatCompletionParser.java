package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.gateway.openai.ChatCompletionRequest.Message;
import dev.internvl.mesh.gateway.openai.ChatCompletionRequest.Role;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.internvl.mesh.gateway.openai.JsonFields.optionalString;
import static dev.internvl.mesh.gateway.openai.JsonFields.requiredString;
import static dev.internvl.mesh.gateway.openai.JsonFields.typeError;

/**
 * Parses and validates a chat completion body the way the OpenAI API does: malformed JSON, unknown arguments, wrong
 * types and out-of-range values are each a 400 with a message naming the parameter.
 */
public final class ChatCompletionParser {
    private static final Set<String> KNOWN = union(GenerationFields.NAMES, Set.of("model", "messages", "user", "metadata", "store"));
    private static final Set<String> MESSAGE_FIELDS = Set.of("role", "content", "name");

    private final ObjectMapper json;

    public ChatCompletionParser(ObjectMapper json) {
        this.json = json;
    }

    public ChatCompletionRequest parse(byte[] body) {
        JsonNode root = JsonFields.readObject(json, body);
        JsonFields.refuseUnknown(root, KNOWN, "");
        String model = requiredString(root, "model");
        List<Message> messages = messages(root.get("messages"));
        return new ChatCompletionRequest(model, messages, GenerationFields.parse(root), optionalString(root, "user"));
    }

    private static List<Message> messages(JsonNode node) {
        if (node == null || node.isNull()) {
            throw ApiError.invalidRequest("Missing required parameter: 'messages'.", "messages");
        }
        if (!node.isArray() || node.isEmpty()) {
            throw ApiError.invalidRequest("'messages' must be a non-empty array.", "messages");
        }
        List<Message> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            out.add(message(node.get(i), "messages[" + i + "]"));
        }
        if (out.getLast().role() != Role.USER) {
            throw ApiError.invalidRequest("The last message must have role 'user'.", "messages");
        }
        return out;
    }

    private static Message message(JsonNode node, String where) {
        if (!node.isObject()) {
            throw typeError(where, "an object");
        }
        JsonFields.refuseUnknown(node, MESSAGE_FIELDS, where);
        String roleName = requiredString(node, "role", where + ".role");
        Role role = switch (roleName) {
            case "system", "developer" -> Role.SYSTEM;
            case "user" -> Role.USER;
            case "assistant" -> Role.ASSISTANT;
            default -> throw ApiError.invalidRequest("Invalid value for '" + where + ".role': '" + roleName
                    + "'. Supported values are: 'system', 'developer', 'user' and 'assistant'.", where + ".role");
        };
        return new Message(role, Content.parse(node.get("content"), where + ".content", role == Role.USER));
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new HashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }
}
