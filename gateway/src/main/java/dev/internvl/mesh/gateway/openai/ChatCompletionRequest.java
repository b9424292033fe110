package dev.internvl.mesh.gateway.openai;

import java.util.List;
import java.util.Optional;

/**
 * A parsed, validated {@code POST /v1/chat/completions} body. Optional fields stay empty when the client did not
 * send them, so the server's defaults apply.
 */
public record ChatCompletionRequest(
        String model,
        List<Message> messages,
        boolean stream,
        boolean includeUsage,
        Optional<Integer> maxTokens,
        Optional<Double> temperature,
        Optional<Double> topP,
        Optional<Integer> topK,
        Optional<Double> repetitionPenalty,
        List<String> stop,
        Optional<Long> seed,
        boolean logprobs,
        int topLogprobs,
        Optional<Integer> maxDynamicPatch,
        Optional<String> user) {

    public enum Role { SYSTEM, USER, ASSISTANT }

    public record Message(Role role, List<ContentPart> content) {
    }

    /** One part of a message's content, in the order the client sent them. */
    public sealed interface ContentPart permits Text, Image {
    }

    public record Text(String text) implements ContentPart {
    }

    /** An image by URL ({@code data:} URI, or http(s) where the gateway allows it), with its own tile limit. */
    public record Image(String url, Optional<Integer> maxDynamicPatch) implements ContentPart {
    }

    public long imageCount() {
        return messages.stream().flatMap(m -> m.content().stream()).filter(p -> p instanceof Image).count();
    }
}
