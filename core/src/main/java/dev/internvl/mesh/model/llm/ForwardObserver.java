package dev.internvl.mesh.model.llm;

/**
 * Sees a forward step's hidden states, for golden checks and debugging. Rows are the step's positions, inputs
 * concatenated in order. The arrays are working buffers: copy what you keep.
 */
public interface ForwardObserver {
    ForwardObserver NONE = new ForwardObserver() {
    };

    /** The residual stream: index 0 is the input embeddings, index l the output of decoder layer l-1. */
    default void residual(int index, float[] x, int rows, int dim) {
    }

    /** Whether {@link #finalHidden} should receive every row (otherwise only rows that need logits are normed). */
    default boolean wantsFinalHidden() {
        return false;
    }

    /** The final norm's output for every row. */
    default void finalHidden(float[] h, int rows, int dim) {
    }
}
