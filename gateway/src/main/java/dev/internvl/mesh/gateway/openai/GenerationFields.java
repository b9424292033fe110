package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.gateway.chat.ChatPlanner;
import dev.internvl.mesh.gateway.chat.GenerationOptions;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static dev.internvl.mesh.gateway.openai.JsonFields.bool;
import static dev.internvl.mesh.gateway.openai.JsonFields.integer;
import static dev.internvl.mesh.gateway.openai.JsonFields.longValue;
import static dev.internvl.mesh.gateway.openai.JsonFields.number;
import static dev.internvl.mesh.gateway.openai.JsonFields.typeError;

/**
 * The fields of a request body that say how to generate and how to answer, as the chat completions API names
 * them; every endpoint that generates takes the same ones. Parameters of the OpenAI API that this server cannot
 * honour are refused rather than silently ignored.
 *
 * @param maxDynamicPatch the request-wide tile limit, for images without their own
 */
public record GenerationFields(boolean stream, boolean includeUsage, GenerationOptions options,
                               Optional<Integer> maxDynamicPatch) {

    /** The body fields this record reads. */
    static final Set<String> NAMES = Set.of("stream", "stream_options", "max_tokens", "max_completion_tokens",
            "temperature", "top_p", "top_k", "repetition_penalty", "stop", "seed", "n", "logprobs", "top_logprobs",
            "presence_penalty", "frequency_penalty", "max_dynamic_patch", "response_format", "tools", "tool_choice",
            "parallel_tool_calls", "logit_bias");
    private static final int MAX_STOP_SEQUENCES = 4;

    static GenerationFields parse(JsonNode root) {
        refuseUnsupported(root);
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
        int topLogprobs = integer(root, "top_logprobs", 0, GenerationOptions.MAX_TOP_LOGPROBS).orElse(0);
        if (topLogprobs > 0 && !logprobs) {
            throw ApiError.invalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
        }
        GenerationOptions options = new GenerationOptions(maxTokens,
                number(root, "temperature", 0, 2, true),
                number(root, "top_p", 0, 1, false),
                integer(root, "top_k", -1, Integer.MAX_VALUE),
                number(root, "repetition_penalty", 0, Double.MAX_VALUE, false),
                stop(root.get("stop")),
                longValue(root, "seed"),
                logprobs, topLogprobs);
        return new GenerationFields(stream, includeUsage, options,
                integer(root, "max_dynamic_patch", 1, ChatPlanner.MAX_TILES_LIMIT));
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
}
