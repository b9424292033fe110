package dev.internvl.mesh.model.vision;

/**
 * Sees the intermediate tensors of {@link VisionEncoder#encode}, for golden checks and debugging. The arrays are
 * the encoder's working buffers: copy what you keep. Shapes are row-major.
 */
public interface VisionObserver {
    VisionObserver NONE = new VisionObserver() {
    };

    /** Patch embedding + class token + position embedding: {@code [tiles, tokens, C]}, tokens = 1 + grid^2. */
    default void embeddings(float[] x, int tiles, int tokens, int dim) {
    }

    /** Output of the selected encoder layer (the last one for select_layer -1): {@code [tiles, tokens, C]}. */
    default void encoderOutput(float[] x, int tiles, int tokens, int dim) {
    }

    /** Class token dropped and pixels unshuffled, the projector's input: {@code [tiles, tokensPerTile, 4C]}. */
    default void pixelShuffled(float[] x, int tiles, int tokens, int dim) {
    }
}
