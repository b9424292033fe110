package dev.internvl.mesh.engine;

import dev.internvl.mesh.sampling.FinishReason;
import dev.internvl.mesh.sampling.TokenLogprob;

import java.util.List;

/**
 * Receives one request's output from the engine's scheduler thread, in order. Implementations must return quickly
 * (hand off to a stream or a queue): every running request waits while a callback runs.
 */
public interface GenerationListener {
    /** A generated token and the text it completed (empty while a UTF-8 character or a possible stop string is held back). */
    void onToken(GeneratedToken token);

    /** Progress of the prompt pass: {@code computed} of {@code total} prompt positions are in the cache. */
    default void onPrefillProgress(int computed, int total) {
    }

    /** The request ended normally; no call follows. */
    void onFinished(FinishReason reason, Usage usage);

    /** The request failed; no call follows. */
    void onFailed(Throwable error);

    /**
     * @param tokenId the sampled id, or {@link #TEXT_ONLY} for text held back earlier and released at the end
     *                (e.g. by the end-of-turn token, which is not output itself)
     */
    record GeneratedToken(int tokenId, String text, double logprob, List<TokenLogprob> topLogprobs) {
        public static final int TEXT_ONLY = -1;

        static GeneratedToken textOnly(String text) {
            return new GeneratedToken(TEXT_ONLY, text, Double.NaN, List.of());
        }
    }

    /**
     * @param cachedPromptTokens prompt positions whose keys and values came from the prefix cache
     */
    record Usage(int promptTokens, int completionTokens, int cachedPromptTokens) {
    }
}
