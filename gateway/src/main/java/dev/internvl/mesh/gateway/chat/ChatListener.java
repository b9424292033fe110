package dev.internvl.mesh.gateway.chat;

import dev.internvl.mesh.gateway.openai.ApiError;

import java.util.List;

/** Receives one generation's output as the language tier streams it. Calls come from one thread at a time. */
public interface ChatListener {
    /** Text completed by the newest tokens (whole UTF-8 characters; stop strings already cut off). */
    void onDelta(String text, List<TokenInfo> tokens);

    void onComplete(String finishReason, Usage usage);

    void onError(ApiError error);

    /** A generated token with its log-probability and, when asked for, the most likely alternatives. */
    record TokenInfo(int id, String text, double logprob, List<Alternative> top) {
    }

    record Alternative(int id, String text, double logprob) {
    }

    record Usage(int promptTokens, int completionTokens, int cachedPromptTokens) {
        public int totalTokens() {
            return promptTokens + completionTokens;
        }
    }
}
