package dev.internvl.mesh.llm;

import dev.internvl.mesh.sampling.SamplingParams;

/** The wire's sampling parameters onto the engine's; unset optional fields keep the engine's defaults. */
final class SamplingMapper {
    private SamplingMapper() {
    }

    /** @throws IllegalArgumentException naming the field, for a value out of range */
    static SamplingParams map(dev.internvl.mesh.proto.v1.SamplingParams p) {
        SamplingParams.Builder b = SamplingParams.builder();
        if (p.getMaxNewTokens() < 0) {
            throw new IllegalArgumentException("max_new_tokens must be at least 1, got " + p.getMaxNewTokens());
        }
        if (p.getMaxNewTokens() > 0) {
            b.maxNewTokens(p.getMaxNewTokens());
        }
        if (p.hasTemperature()) {
            b.temperature(p.getTemperature());
        }
        if (p.hasTopP()) {
            b.topP(p.getTopP());
        }
        if (p.hasTopK()) {
            if (p.getTopK() < -1) {
                throw new IllegalArgumentException("top_k must be -1 or 0 (off) or positive, got " + p.getTopK());
            }
            b.topK(Math.max(0, p.getTopK()));
        }
        if (p.hasRepetitionPenalty()) {
            b.repetitionPenalty(p.getRepetitionPenalty());
        }
        if (p.hasSeed()) {
            b.seed(p.getSeed());
        }
        b.stopTokenIds(p.getStopTokenIdsList());
        b.stopStrings(p.getStopList());
        b.topLogprobs(p.getTopLogprobs());
        b.logprobs(p.getLogprobs());
        return b.build();
    }
}
