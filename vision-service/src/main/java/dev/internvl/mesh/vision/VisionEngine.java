package dev.internvl.mesh.vision;

/**
 * What runs InternViT and the projector for the service: a batch of normalised tiles in, their visual embeddings
 * out. Callers only ever see this interface, so an accelerator engine can replace the CPU one by configuration
 * ({@link VisionEngineKind}). One call at a time: the {@link TileBatcher} is its only caller.
 */
public interface VisionEngine extends AutoCloseable {
    /** Side of the square tiles the engine takes, in pixels (448 for InternVL 2.5). */
    int tileSize();

    /** Visual tokens each tile becomes (256 for InternVL 2.5). */
    int tokensPerTile();

    /** Width of each visual token: the language model's hidden size. */
    int embeddingDim();

    /**
     * Encodes {@code tiles} tiles laid out {@code [tiles, 3, tileSize, tileSize]}, ImageNet-normalised, into
     * {@code [tiles, tokensPerTile, embeddingDim]} embeddings. A batch costs less per tile than one tile at a time.
     */
    float[] encode(float[] pixelValues, int tiles);

    /** Frees what the engine holds beyond the Java heap (device memory, native contexts); the CPU engine has none. */
    @Override
    default void close() {
    }
}
