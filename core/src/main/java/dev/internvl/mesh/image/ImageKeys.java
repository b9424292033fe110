package dev.internvl.mesh.image;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Names an image's visual embeddings by what determines them: the encoded bytes and the tiling settings. Caches of
 * embeddings and of KV blocks key on it, so the same picture tiled differently never shares either.
 */
public final class ImageKeys {
    private ImageKeys() {
    }

    public static String of(byte[] encoded, int minTiles, int maxTiles, boolean thumbnail) {
        return sha256Hex(encoded) + ":" + minTiles + "-" + maxTiles + (thumbnail ? "+t" : "");
    }

    public static String sha256Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }
}
