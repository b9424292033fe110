package dev.internvl.mesh.vision;

/**
 * One tile's visual embeddings, {@code [tokensPerTile, embeddingDim]} row-major. The array is shared with the
 * embedding cache: read it, never write it.
 *
 * @param index     position in preprocessing order (grid row by row, thumbnail last)
 * @param count     tiles the image has in all
 * @param thumbnail whether this is the thumbnail of the whole image
 */
public record EncodedTile(int index, int count, boolean thumbnail, float[] embedding) {
}
