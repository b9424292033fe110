package dev.internvl.mesh.gateway.openai;

import java.util.List;
import java.util.Optional;

/**
 * A parsed, validated {@code POST /v1/chat/completions} body. Optional fields stay empty when the client did not
 * send them, so the server's defaults apply.
 */
public record ChatCompletionRequest(String model, List<Message> messages, GenerationFields generation,
                                    Optional<String> user) {

    public enum Role { SYSTEM, USER, ASSISTANT }

    public record Message(Role role, List<Content.Part> content) {
    }

    public long imageCount() {
        return messages.stream().flatMap(m -> m.content().stream()).filter(p -> p instanceof Content.Image).count();
    }
}
