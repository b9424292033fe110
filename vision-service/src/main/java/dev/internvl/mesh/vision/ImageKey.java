package dev.internvl.mesh.vision;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What a tile's embeddings depend on besides the model: the image's content (SHA-256 of its encoded bytes) and the
 * tiling. The key of the embedding cache, and sent to callers as {@code image_key} so they can recognise an image.
 */
public record ImageKey(String sha256, Tiling tiling) {
    public static ImageKey of(byte[] encodedImage, Tiling tiling) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(encodedImage);
            return new ImageKey(HexFormat.of().formatHex(digest), tiling);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** The wire form, e.g. {@code sha256:9f86...;tiles=1-12;thumbnail=true}. */
    @Override
    public String toString() {
        return "sha256:" + sha256 + ";tiles=" + tiling.minTiles() + "-" + tiling.maxTiles() + ";thumbnail=" + tiling.thumbnail();
    }
}
