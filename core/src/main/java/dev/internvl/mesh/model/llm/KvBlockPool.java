package dev.internvl.mesh.model.llm;

import dev.internvl.mesh.checkpoint.LlmConfig;

import java.util.List;

/**
 * The paged KV cache's storage: a fixed number of blocks, each holding the post-RoPE keys and the values of
 * {@code blockSize} consecutive positions of one sequence, for every layer, in fp32. A sequence owns a table of
 * blocks ({@link KvSequence}); blocks carry a reference count so that a later prefix cache can share them.
 *
 * <p>Layout: per layer one key and one value array of {@code blocks * blockSize * kvDim} floats; position p of a
 * sequence lives in block {@code table[p / blockSize]} at slot {@code p % blockSize}. Values are slot-major (a
 * position's kvDim values together, kv heads side by side). Keys are feature-major within a block (a feature's
 * blockSize values together), so the keys of one head over a block are, dimension by dimension, already the rows
 * of the transposed panel that the {@code q · Kᵀ} kernel consumes: packing them is plain copying.
 * Allocation and release are thread-safe; the arrays are written only by the forward pass of the sequence that
 * owns the block.
 */
public final class KvBlockPool {
    private final int kvDim;
    private final int blockSize;
    private final int blockCount;
    private final float[][] keys;
    private final float[][] values;
    private final int[] refCounts;
    /** Free block ids, a stack: {@code free[0 .. freeCount)}. */
    private final int[] free;
    private int freeCount;

    public KvBlockPool(int layers, int kvDim, int blockSize, int blockCount) {
        if (layers < 1 || kvDim < 1 || blockSize < 1 || blockCount < 1) {
            throw new IllegalArgumentException("KV pool needs positive sizes: layers " + layers + ", kvDim " + kvDim
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
        this.refCounts = new int[blockCount];
        this.free = new int[blockCount];
        // Lowest ids on top, so a fresh pool hands out blocks 0, 1, 2, ...
        for (int i = 0; i < blockCount; i++) {
            free[i] = blockCount - 1 - i;
        }
        this.freeCount = blockCount;
    }

    /** A pool for {@code config}'s shape holding {@code blockCount} blocks. */
    public static KvBlockPool create(LlmConfig config, int blockSize, int blockCount) {
        return new KvBlockPool(config.numLayers(), config.kvDim(), blockSize, blockCount);
    }

    /** As many blocks as fit in {@code bytes} (keys and values of all layers, fp32). */
    public static KvBlockPool withBudget(LlmConfig config, int blockSize, long bytes) {
        long blocks = bytes / bytesPerBlock(config, blockSize);
        if (blocks < 1) {
            throw new IllegalArgumentException(bytes + " bytes hold no KV block of " + bytesPerBlock(config, blockSize) + " bytes");
        }
        return create(config, blockSize, (int) Math.min(blocks, Integer.MAX_VALUE));
    }

    public static long bytesPerBlock(LlmConfig config, int blockSize) {
        return 2L * Float.BYTES * config.numLayers() * blockSize * config.kvDim();
    }

    public int blockSize() {
        return blockSize;
    }

    public int blockCount() {
        return blockCount;
    }

    public int kvDim() {
        return kvDim;
    }

    public synchronized int freeBlocks() {
        return freeCount;
    }

    public synchronized int refCount(int block) {
        return refCounts[block];
    }

    /** A new, empty sequence drawing blocks from this pool. */
    public KvSequence newSequence() {
        return new KvSequence(this);
    }

    /**
     * Grows every sequence in {@code sequences} by the matching entry of {@code extraTokens}, all or nothing: when
     * the blocks do not suffice, nothing is allocated and the exception says how many are missing.
     */
    public synchronized void reserve(List<KvSequence> sequences, int[] extraTokens) throws KvCacheFullException {
        int needed = 0;
        for (int i = 0; i < sequences.size(); i++) {
            KvSequence s = sequences.get(i);
            if (s.pool() != this || s.isReleased()) {
                throw new IllegalStateException("sequence " + i + " is released or belongs to another pool");
            }
            needed += s.blocksNeededFor(extraTokens[i]);
        }
        if (needed > freeCount) {
            throw new KvCacheFullException(needed, freeCount);
        }
        for (int i = 0; i < sequences.size(); i++) {
            KvSequence s = sequences.get(i);
            for (int b = s.blocksNeededFor(extraTokens[i]); b > 0; b--) {
                s.addBlock(allocate());
            }
        }
    }

    private int allocate() {
        int block = free[--freeCount];
        refCounts[block] = 1;
        return block;
    }

    /** Adds a reference to a block in use (sharing a prefix). */
    public synchronized void retain(int block) {
        if (refCounts[block] <= 0) {
            throw new IllegalStateException("block " + block + " is free");
        }
        refCounts[block]++;
    }

    /** Drops a reference; the block returns to the free list when none remain. */
    public synchronized void release(int block) {
        if (refCounts[block] <= 0) {
            throw new IllegalStateException("block " + block + " released more often than it was taken");
        }
        if (--refCounts[block] == 0) {
            free[freeCount++] = block;
        }
    }

    float[] keys(int layer) {
        return keys[layer];
    }

    float[] values(int layer) {
        return values[layer];
    }
}
