package dev.internvl.mesh.sampling;

/** A token with its log-probability under the model's distribution (log-softmax of the raw logits). */
public record TokenLogprob(int tokenId, double logprob) {
}
