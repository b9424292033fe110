package dev.internvl.mesh.sampling;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * How one request chooses its tokens and when it stops. Field names in error messages are the API's ({@code top_k},
 * {@code max_new_tokens}, ...), so the gateway can pass a message straight to the client as a 400.
 *
 * @param temperature       divides the logits before sampling; 0 means greedy decoding. Range [0, 2], as OpenAI's.
 * @param topK              keep only the {@code topK} most likely tokens (and any tied with the last of them); 0 = off
 * @param topP              keep the smallest set of most likely tokens whose probability adds up to at least
 *                          {@code topP}; 1 = off. Range (0, 1].
 * @param repetitionPenalty transformers' (CTRL) penalty on every token already in the prompt or output: positive
 *                          logits are divided by it, negative ones multiplied; 1 = off. Must be greater than 0.
 * @param seed              makes sampling reproducible; empty means a fresh random seed per request
 * @param maxNewTokens      the most tokens to generate, stop tokens included
 * @param stopTokenIds      tokens that end generation without being emitted (the model's EOS is added by the caller)
 * @param stopStrings       texts that end generation; the output is cut before the first one. At most
 *                          {@value #MAX_STOP_STRINGS}, none empty.
 * @param topLogprobs       how many most likely alternatives to report with each token, 0 to {@value #MAX_TOP_LOGPROBS}
 * @param logprobs          report each chosen token's log-probability (OpenAI's {@code logprobs}). Off by default, as
 *                          there: it costs a pass over the whole vocabulary with a double-precision exp per token,
 *                          about 0.7 ms at InternVL's 151,674 entries, more than the rest of greedy sampling.
 */
public record SamplingParams(
        double temperature,
        int topK,
        double topP,
        double repetitionPenalty,
        OptionalLong seed,
        int maxNewTokens,
        List<Integer> stopTokenIds,
        List<String> stopStrings,
        int topLogprobs,
        boolean logprobs) {

    public static final double MAX_TEMPERATURE = 2.0;
    public static final int MAX_STOP_STRINGS = 4;
    public static final int MAX_TOP_LOGPROBS = 20;
    /** InternVL's chat examples generate up to 1024 tokens; callers clamp it further to the context left. */
    public static final int DEFAULT_MAX_NEW_TOKENS = 1024;

    private static final SamplingParams DEFAULTS = builder().build();

    public SamplingParams {
        if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
            throw invalid("temperature must be between 0 and 2 (0 means greedy), got " + temperature);
        }
        if (topK < 0) {
            throw invalid("top_k must be 0 (off) or a positive integer, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw invalid("top_p must be greater than 0 and at most 1 (1 means off), got " + topP);
        }
        if (!(repetitionPenalty > 0 && repetitionPenalty < Double.POSITIVE_INFINITY)) {
            throw invalid("repetition_penalty must be a finite number greater than 0 (1 means off), got " + repetitionPenalty);
        }
        if (seed == null) {
            throw invalid("seed must be given as OptionalLong.empty() when absent, not null");
        }
        if (maxNewTokens < 1) {
            throw invalid("max_new_tokens must be at least 1, got " + maxNewTokens);
        }
        stopTokenIds = checkedStopTokenIds(stopTokenIds);
        stopStrings = checkedStopStrings(stopStrings);
        if (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
            throw invalid("top_logprobs must be between 0 and " + MAX_TOP_LOGPROBS + ", got " + topLogprobs);
        }
    }

    /** Temperature 1, no top-k, top-p or penalty, a random seed, {@value #DEFAULT_MAX_NEW_TOKENS} new tokens, no stops. */
    public static SamplingParams defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder()
                .temperature(temperature)
                .topK(topK)
                .topP(topP)
                .repetitionPenalty(repetitionPenalty)
                .maxNewTokens(maxNewTokens)
                .stopTokenIds(stopTokenIds)
                .stopStrings(stopStrings)
                .topLogprobs(topLogprobs)
                .logprobs(logprobs);
        b.seed = seed;
        return b;
    }

    public boolean greedy() {
        return temperature == 0;
    }

    /** Whether sampling needs the log-softmax normaliser: for the chosen token's logprob or the alternatives'. */
    public boolean reportsLogprobs() {
        return logprobs || topLogprobs > 0;
    }

    private static List<Integer> checkedStopTokenIds(List<Integer> ids) {
        if (ids == null) {
            throw invalid("stop_token_ids must be a list (empty for none), not null");
        }
        for (int i = 0; i < ids.size(); i++) {
            Integer id = ids.get(i);
            if (id == null || id < 0) {
                throw invalid("stop_token_ids must hold non-negative token ids, got " + id + " at index " + i);
            }
        }
        return List.copyOf(ids);
    }

    private static List<String> checkedStopStrings(List<String> stops) {
        if (stops == null) {
            throw invalid("stop must be a list (empty for none), not null");
        }
        if (stops.size() > MAX_STOP_STRINGS) {
            throw invalid("stop may hold at most " + MAX_STOP_STRINGS + " strings, got " + stops.size());
        }
        for (int i = 0; i < stops.size(); i++) {
            String s = stops.get(i);
            if (s == null || s.isEmpty()) {
                throw invalid("stop strings must not be empty, got " + (s == null ? "null" : "\"\"") + " at index " + i);
            }
        }
        return List.copyOf(stops);
    }

    private static IllegalArgumentException invalid(String message) {
        return new IllegalArgumentException(message);
    }

    /** Starts from {@link #defaults()}; {@link #build()} validates. */
    public static final class Builder {
        private double temperature = 1.0;
        private int topK = 0;
        private double topP = 1.0;
        private double repetitionPenalty = 1.0;
        private OptionalLong seed = OptionalLong.empty();
        private int maxNewTokens = DEFAULT_MAX_NEW_TOKENS;
        private List<Integer> stopTokenIds = List.of();
        private List<String> stopStrings = List.of();
        private int topLogprobs = 0;
        private boolean logprobs = false;

        private Builder() {
        }

        public Builder temperature(double v) {
            temperature = v;
            return this;
        }

        public Builder topK(int v) {
            topK = v;
            return this;
        }

        public Builder topP(double v) {
            topP = v;
            return this;
        }

        public Builder repetitionPenalty(double v) {
            repetitionPenalty = v;
            return this;
        }

        public Builder seed(long v) {
            seed = OptionalLong.of(v);
            return this;
        }

        public Builder maxNewTokens(int v) {
            maxNewTokens = v;
            return this;
        }

        /** Copied by {@link #build()}; may be null or hold nulls only to be reported there. */
        public Builder stopTokenIds(List<Integer> v) {
            stopTokenIds = v == null ? null : new ArrayList<>(v);
            return this;
        }

        /** Copied by {@link #build()}; may be null or hold nulls only to be reported there. */
        public Builder stopStrings(List<String> v) {
            stopStrings = v == null ? null : new ArrayList<>(v);
            return this;
        }

        public Builder topLogprobs(int v) {
            topLogprobs = v;
            return this;
        }

        public Builder logprobs(boolean v) {
            logprobs = v;
            return this;
        }

        public SamplingParams build() {
            return new SamplingParams(temperature, topK, topP, repetitionPenalty, seed, maxNewTokens, stopTokenIds,
                    stopStrings, topLogprobs, logprobs);
        }
    }
}
