package dev.internvl.mesh.model.llm;

/**
 * One sequence's share of a forward step: {@code tokens} new positions, given as input embeddings
 * {@code [tokens, hidden]} (see {@link Qwen2Model#embed}), appended to {@code sequence}'s cache.
 */
public record StepInput(KvSequence sequence, float[] embeddings, int tokens, LogitRows logits) {
    public StepInput {
        if (tokens < 1) {
            throw new IllegalArgumentException("a step input needs at least one token, got " + tokens);
        }
    }
}
