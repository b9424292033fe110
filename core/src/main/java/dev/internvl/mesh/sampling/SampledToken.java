package dev.internvl.mesh.sampling;

import java.util.List;

/**
 * The token chosen for one position.
 *
 * @param tokenId     the chosen token
 * @param logprob     its log-probability under the model's distribution: the log-softmax of the raw logits, before
 *                    repetition penalty, temperature, top-k and top-p, as OpenAI reports it. So it does not depend
 *                    on the sampling parameters, and greedy and sampled runs report the same value for a token.
 *                    NaN unless the request {@link SamplingParams#reportsLogprobs reports logprobs}.
 * @param topLogprobs the {@link SamplingParams#topLogprobs()} most likely tokens under the same distribution, most
 *                    likely first (lowest id first among equals); it may or may not contain the chosen token
 */
public record SampledToken(int tokenId, double logprob, List<TokenLogprob> topLogprobs) {
    public SampledToken {
        topLogprobs = List.copyOf(topLogprobs);
    }
}
