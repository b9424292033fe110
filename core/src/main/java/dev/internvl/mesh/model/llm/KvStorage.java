package dev.internvl.mesh.model.llm;

/**
 * The keys and values that some decoder layers keep for every block of a paged KV cache, in fp32. Which blocks a
 * sequence owns is {@link KvBlockPool}'s business; this is only where their contents live, so a layer shard holds
 * storage for its own layers under block ids that the coordinator hands out.
 *
 * <p>Layout: per layer one key and one value array of {@code blocks * blockSize * kvDim} floats; position p of a
 * sequence lives in block {@code table[p / blockSize]} at slot {@code p % blockSize}. Values are slot-major (a
 * position's kvDim values together, kv heads side by side). Keys are feature-major within a block (a feature's
 * blockSize values together), so the keys of one head over a block are, dimension by dimension, already the rows
 * of the transposed panel that the {@code q · Kᵀ} kernel consumes: packing them is plain copying. A block's
 * arrays are written only by the forward pass of the sequence that owns it.
 */
public final class KvStorage {
    private final int kvDim;
    private final int blockSize;
    private final int blockCount;
    private final float[][] keys;
    private final float[][] values;

    public KvStorage(int layers, int kvDim, int blockSize, int blockCount) {
        if (layers < 1 || kvDim < 1 || blockSize < 1 || blockCount < 1) {
            throw new IllegalArgumentException("KV storage needs positive sizes: layers " + layers + ", kvDim " + kvDim
                    + ", blockSize " + blockSize + ", blocks " + blockCount);
        }
        long floatsPerLayer = (long) blockCount * blockSize * kvDim;
        if (floatsPerLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(blockCount + " blocks of " + blockSize + " x " + kvDim
                    + " floats exceed one array per layer; use fewer blocks");
        }
        this.kvDim = kvDim;
        this.blockSize = blockSize;
        this.blockCount = blockCount;
        this.keys = new float[layers][(int) floatsPerLayer];
        this.values = new float[layers][(int) floatsPerLayer];
    }

    /** Bytes one block takes over {@code layers} layers (keys and values, fp32). */
    public static long bytesPerBlock(int layers, int kvDim, int blockSize) {
        return 2L * Float.BYTES * layers * blockSize * kvDim;
    }

    public int layers() {
        return keys.length;
    }

    public int blockSize() {
        return blockSize;
    }

    public int blockCount() {
        return blockCount;
    }

    float[] keys(int layer) {
        return keys[layer];
    }

    float[] values(int layer) {
        return values[layer];
    }

    /** Offset, in a layer's value array, of {@code position}'s kvDim values for a sequence with this block table. */
    int valueOffset(int[] blockTable, int position) {
        return (block(blockTable, position) * blockSize + position % blockSize) * kvDim;
    }

    /**
     * Offset, in a layer's key array, of feature 0 of {@code position}; feature f (head * headDim + dim) is
     * {@code f * blockSize} further on.
     */
    int keyOffset(int[] blockTable, int position) {
        return block(blockTable, position) * blockSize * kvDim + position % blockSize;
    }

    private int block(int[] blockTable, int position) {
        int block = blockTable[position / blockSize];
        if (block < 0 || block >= blockCount) {
            throw new IllegalArgumentException("KV block " + block + " outside the " + blockCount + " blocks held here");
        }
        return block;
    }
}
