package dev.internvl.mesh.engine;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Hashes identifying each full KV block of a prompt by everything before and in it, as vLLM's prefix cache does:
 * block i's hash covers block i-1's hash and block i's positions. A text position contributes its token id; an
 * image position contributes its image's key and its row in that image, so identical token runs over different
 * images never match. SHA-256 truncated to 64 bits: collisions are negligible at any cache size this holds.
 */
final class PrefixHashes {
    private PrefixHashes() {
    }

    static long[] of(int[] tokens, int length, int blockSize, int contextTokenId, List<GenerationRequest.ImageRef> images) {
        long[] imageKeys = new long[images.size()];
        for (int i = 0; i < imageKeys.length; i++) {
            imageKeys[i] = firstLong(sha256().digest(images.get(i).key().getBytes(StandardCharsets.UTF_8)));
        }
        long[] hashes = new long[length / blockSize];
        ByteBuffer block = ByteBuffer.allocate(8 + blockSize * 16);
        int image = 0;
        int rowInImage = 0;
        long previous = 0;
        for (int b = 0; b < hashes.length; b++) {
            block.clear();
            block.putLong(previous);
            for (int p = b * blockSize; p < (b + 1) * blockSize; p++) {
                if (tokens[p] == contextTokenId && image < images.size()) {
                    block.putInt(-1).putLong(imageKeys[image]).putInt(rowInImage);
                    if (++rowInImage == images.get(image).rows()) {
                        image++;
                        rowInImage = 0;
                    }
                } else {
                    block.putInt(tokens[p]);
                }
            }
            MessageDigest md = sha256();
            md.update(block.array(), 0, block.position());
            previous = firstLong(md.digest());
            hashes[b] = previous;
        }
        return hashes;
    }

    private static long firstLong(byte[] digest) {
        return ByteBuffer.wrap(digest).getLong();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }
}
