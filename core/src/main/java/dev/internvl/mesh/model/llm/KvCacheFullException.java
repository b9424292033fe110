package dev.internvl.mesh.model.llm;

/**
 * A step needs more KV blocks than the pool has free. Nothing was allocated: the scheduler can wait for other
 * sequences to finish, preempt one (release its blocks), or shrink the step, and try again.
 */
public final class KvCacheFullException extends Exception {
    private final int blocksNeeded;
    private final int blocksFree;

    public KvCacheFullException(int blocksNeeded, int blocksFree) {
        super("KV cache full: the step needs " + blocksNeeded + " more blocks, " + blocksFree + " are free");
        this.blocksNeeded = blocksNeeded;
        this.blocksFree = blocksFree;
    }

    public int blocksNeeded() {
        return blocksNeeded;
    }

    public int blocksFree() {
        return blocksFree;
    }
}
