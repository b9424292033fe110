package dev.internvl.mesh.model.llm;

import java.util.Arrays;

/**
 * One sequence's view of the paged KV cache: its block table and how many positions hold keys and values. The
 * model appends to it in {@link Qwen2Model#forward}; {@link #release()} returns its blocks to the pool.
 */
public final class KvSequence {
    private final KvBlockPool pool;
    private int[] blocks = new int[4];
    private int blockCount;
    private int length;
    private boolean released;

    KvSequence(KvBlockPool pool) {
        this.pool = pool;
    }

    public KvBlockPool pool() {
        return pool;
    }

    /** Positions cached so far (the next token goes at this position). */
    public int length() {
        return length;
    }

    public int blockCount() {
        return blockCount;
    }

    /** The block ids in position order (a copy). */
    public int[] blockTable() {
        return Arrays.copyOf(blocks, blockCount);
    }

    /** Blocks to add before {@code extraTokens} more positions fit. */
    public int blocksNeededFor(int extraTokens) {
        int capacity = blockCount * pool.blockSize();
        int needed = length + extraTokens - capacity;
        return needed <= 0 ? 0 : (needed + pool.blockSize() - 1) / pool.blockSize();
    }

    void addBlock(int block) {
        ensureOpen();
        if (blockCount == blocks.length) {
            blocks = Arrays.copyOf(blocks, blocks.length * 2);
        }
        blocks[blockCount++] = block;
    }

    /** Marks {@code tokens} more positions as written (after the forward pass stored them). */
    void advance(int tokens) {
        if (length + tokens > blockCount * pool.blockSize()) {
            throw new IllegalStateException("advancing past the reserved blocks");
        }
        length += tokens;
    }

    /** Returns every block to the pool; the sequence can no longer be used. Idempotent. */
    public void release() {
        if (released) {
            return;
        }
        released = true;
        for (int i = 0; i < blockCount; i++) {
            pool.release(blocks[i]);
        }
        blockCount = 0;
        length = 0;
    }

    public boolean isReleased() {
        return released;
    }

    private void ensureOpen() {
        if (released) {
            throw new IllegalStateException("sequence was released");
        }
    }
}
