package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.gateway.openai.ChatCompletionRequest.ContentPart;
import dev.internvl.mesh.gateway.openai.ChatCompletionRequest.Image;
import dev.internvl.mesh.gateway.openai.ChatCompletionRequest.Message;
import dev.internvl.mesh.gateway.openai.ChatCompletionRequest.Role;
import dev.internvl.mesh.gateway.openai.ChatCompletionRequest.Text;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Parses and validates a chat completion body the way the OpenAI API does: malformed JSON, unknown arguments, wrong
 * types and out-of-range values are each a 400 with a message naming the parameter. Parameters of the OpenAI API
 * that this server cannot honour are refused rather than silently ignored.
 */
public final class ChatCompletionParser {
    /** Reserved: the prompt template turns it into an image slot, so it may only come from image parts. */
    public static final String IMAGE_PLACEHOLDER = "<image>";

    private static final Set<String> KNOWN = Set.of("model", "messages", "stream", "stream_options", "max_tokens",
            "max_completion_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "stop", "seed", "n",
            "logprobs", "top_logprobs", "presence_penalty", "frequency_penalty", "user", "max_dynamic_patch",
            "response_format", "tools", "tool_choice", "parallel_tool_calls", "logit_bias", "metadata", "store");
    private static final int MAX_STOP_SEQUENCES = 4;
    private static final int MAX_TOP_LOGPROBS = 20;

    private final ObjectMapper json;

    public ChatCompletionParser(ObjectMapper json) {
        this.json = json;
    }

    public ChatCompletionRequest parse(byte[] body) {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiError.invalidRequest("We could not parse the JSON body of your request: " + e.getOriginalMessage(), null);
        } catch (java.io.IOException e) {
            throw ApiError.invalidRequest("We could not read the body of your request.", null);
        }
        if (root == null || !root.isObject()) {
            throw ApiError.invalidRequest("The request body must be a JSON object.", null);
        }
        root.fieldNames().forEachRemaining(name -> {
            if (!KNOWN.contains(name)) {
                throw ApiError.invalidRequest("Unrecognized request argument supplied: " + name, name);
            }
        });
        refuseUnsupported(root);

        String model = requiredString(root, "model");
        List<Message> messages = messages(root.get("messages"));
        boolean stream = bool(root, "stream", false);
        boolean includeUsage = false;
        JsonNode streamOptions = root.get("stream_options");
        if (streamOptions != null && !streamOptions.isNull()) {
            if (!stream) {
                throw ApiError.invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
            }
            if (!streamOptions.isObject()) {
                throw typeError("stream_options", "an object");
            }
            includeUsage = bool(streamOptions, "include_usage", false);
        }
        Optional<Integer> maxTokens = integer(root, "max_completion_tokens", 1, Integer.MAX_VALUE)
                .or(() -> integer(root, "max_tokens", 1, Integer.MAX_VALUE));
        boolean logprobs = bool(root, "logprobs", false);
        int topLogprobs = integer(root, "top_logprobs", 0, MAX_TOP_LOGPROBS).orElse(0);
        if (topLogprobs > 0 && !logprobs) {
            throw ApiError.invalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
        }
        return new ChatCompletionRequest(model, messages, stream, includeUsage, maxTokens,
                number(root, "temperature", 0, 2, true),
                number(root, "top_p", 0, 1, false),
                integer(root, "top_k", -1, Integer.MAX_VALUE),
                number(root, "repetition_penalty", 0, Double.MAX_VALUE, false),
                stop(root.get("stop")),
                longValue(root, "seed"),
                logprobs, topLogprobs,
                integer(root, "max_dynamic_patch", 1, 40),
                optionalString(root, "user"));
    }

    private static void refuseUnsupported(JsonNode root) {
        Optional<Integer> n = integer(root, "n", 1, 128);
        if (n.isPresent() && n.get() != 1) {
            throw ApiError.invalidRequest("Only n=1 is supported.", "n");
        }
        for (String penalty : new String[]{"presence_penalty", "frequency_penalty"}) {
            Optional<Double> v = number(root, penalty, -2, 2, true);
            if (v.isPresent() && v.get() != 0) {
                throw ApiError.invalidRequest("'" + penalty + "' is not supported; use 'repetition_penalty'.", penalty);
            }
        }
        for (String unsupported : new String[]{"tools", "tool_choice", "parallel_tool_calls", "logit_bias"}) {
            JsonNode v = root.get(unsupported);
            if (v != null && !v.isNull()) {
                throw ApiError.invalidRequest("'" + unsupported + "' is not supported by this model.", unsupported);
            }
        }
        JsonNode format = root.get("response_format");
        if (format != null && !format.isNull() && !"text".equals(format.path("type").asText())) {
            throw ApiError.invalidRequest("Only response_format {\"type\": \"text\"} is supported.", "response_format");
        }
    }

    private List<Message> messages(JsonNode node) {
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

    private Message message(JsonNode node, String where) {
        if (!node.isObject()) {
            throw typeError(where, "an object");
        }
        node.fieldNames().forEachRemaining(name -> {
            if (!Set.of("role", "content", "name").contains(name)) {
                throw ApiError.invalidRequest("Unrecognized argument supplied: " + where + "." + name, where + "." + name);
            }
        });
        String roleName = requiredString(node, "role", where + ".role");
        Role role = switch (roleName) {
            case "system", "developer" -> Role.SYSTEM;
            case "user" -> Role.USER;
            case "assistant" -> Role.ASSISTANT;
            default -> throw ApiError.invalidRequest("Invalid value for '" + where + ".role': '" + roleName
                    + "'. Supported values are: 'system', 'developer', 'user' and 'assistant'.", where + ".role");
        };
        JsonNode content = node.get("content");
        List<ContentPart> parts = new ArrayList<>();
        if (content == null || content.isNull()) {
            throw ApiError.invalidRequest("Missing required parameter: '" + where + ".content'.", where + ".content");
        } else if (content.isTextual()) {
            parts.add(new Text(checkText(content.asText(), where + ".content")));
        } else if (content.isArray()) {
            for (int i = 0; i < content.size(); i++) {
                parts.add(part(content.get(i), where + ".content[" + i + "]", role));
            }
        } else {
            throw typeError(where + ".content", "a string or an array of content parts");
        }
        return new Message(role, List.copyOf(parts));
    }

    private ContentPart part(JsonNode node, String where, Role role) {
        if (!node.isObject()) {
            throw typeError(where, "an object");
        }
        String type = requiredString(node, "type", where + ".type");
        return switch (type) {
            case "text" -> new Text(checkText(requiredString(node, "text", where + ".text"), where + ".text"));
            case "image_url" -> {
                if (role != Role.USER) {
                    throw ApiError.invalidRequest("Image content is only allowed in 'user' messages.", where);
                }
                JsonNode image = node.get("image_url");
                if (image == null || !image.isObject()) {
                    throw ApiError.invalidRequest("Missing required parameter: '" + where + ".image_url'.", where + ".image_url");
                }
                String url = requiredString(image, "url", where + ".image_url.url");
                yield new Image(url, integer(image, "max_dynamic_patch", 1, 40));
            }
            default -> throw ApiError.invalidRequest("Invalid value for '" + where + ".type': '" + type
                    + "'. Supported values are: 'text' and 'image_url'.", where + ".type");
        };
    }

    private static String checkText(String text, String where) {
        if (text.contains(IMAGE_PLACEHOLDER)) {
            throw ApiError.invalidRequest("'" + where + "' contains the reserved placeholder " + IMAGE_PLACEHOLDER
                    + ": send images as 'image_url' content parts.", where);
        }
        return text;
    }

    private static List<String> stop(JsonNode node) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (node.isTextual()) {
            out.add(node.asText());
        } else if (node.isArray()) {
            node.forEach(s -> {
                if (!s.isTextual()) {
                    throw typeError("stop", "a string or an array of strings");
                }
                out.add(s.asText());
            });
        } else {
            throw typeError("stop", "a string or an array of strings");
        }
        if (out.size() > MAX_STOP_SEQUENCES) {
            throw ApiError.invalidRequest("'stop' may hold at most " + MAX_STOP_SEQUENCES + " sequences.", "stop");
        }
        if (out.stream().anyMatch(String::isEmpty)) {
            throw ApiError.invalidRequest("'stop' sequences must not be empty.", "stop");
        }
        return List.copyOf(out);
    }

    // --- typed field readers: each names the parameter in its error -------------------------------------------

    private static ApiError typeError(String param, String expected) {
        return ApiError.invalidRequest("Invalid type for '" + param + "': expected " + expected + ".", param);
    }

    private static String requiredString(JsonNode node, String field) {
        return requiredString(node, field, field);
    }

    private static String requiredString(JsonNode node, String field, String param) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            throw ApiError.invalidRequest("Missing required parameter: '" + param + "'.", param);
        }
        if (!v.isTextual()) {
            throw typeError(param, "a string");
        }
        return v.asText();
    }

    private static Optional<String> optionalString(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw typeError(field, "a string");
        }
        return Optional.of(v.asText());
    }

    private static boolean bool(JsonNode node, String field, boolean fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw typeError(field, "a boolean");
        }
        return v.asBoolean();
    }

    private static Optional<Integer> integer(JsonNode node, String field, int min, int max) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw typeError(field, "an integer");
        }
        int i = v.asInt();
        if (i < min || i > max) {
            throw ApiError.invalidRequest("Invalid value for '" + field + "': " + i + " is "
                    + (i < min ? "less than the minimum of " + min : "greater than the maximum of " + max) + ".", field);
        }
        return Optional.of(i);
    }

    private static Optional<Long> longValue(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw typeError(field, "an integer");
        }
        return Optional.of(v.asLong());
    }

    /** A number in [min, max] ({@code minInclusive}) or (min, max]. */
    private static Optional<Double> number(JsonNode node, String field, double min, double max, boolean minInclusive) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isNumber()) {
            throw typeError(field, "a number");
        }
        double d = v.asDouble();
        boolean low = minInclusive ? d < min : d <= min;
        if (low || d > max || Double.isNaN(d)) {
            String bound = minInclusive ? "[" : "(";
            throw ApiError.invalidRequest("Invalid value for '" + field + "': " + v.asText() + " is outside "
                    + bound + fmt(min) + ", " + fmt(max) + "].", field);
        }
        return Optional.of(d);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
