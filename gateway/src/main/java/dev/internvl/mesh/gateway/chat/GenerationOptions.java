package dev.internvl.mesh.gateway.chat;

import java.util.List;
import java.util.Optional;

/** How to generate, as a client asked; empty fields take the server's defaults. */
public record GenerationOptions(
        Optional<Integer> maxTokens,
        Optional<Double> temperature,
        Optional<Double> topP,
        Optional<Integer> topK,
        Optional<Double> repetitionPenalty,
        List<String> stop,
        Optional<Long> seed,
        boolean logprobs,
        int topLogprobs) {

    /** The most alternatives a client may ask for at each position, as in the OpenAI API. */
    public static final int MAX_TOP_LOGPROBS = 20;

    public static GenerationOptions defaults() {
        return new GenerationOptions(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), List.of(), Optional.empty(), false, 0);
    }
}
