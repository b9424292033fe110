package dev.internvl.mesh.model.llm;

import dev.internvl.mesh.checkpoint.LlmConfig;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The paged KV cache's storage: a fixed number of blocks, each holding the post-RoPE keys and the values of
 * {@code blockSize} consecutive positions of one sequence, for every layer, in fp32. A sequence owns a table of
 * blocks ({@link KvSequence}); blocks carry a reference count so that sequences with a common prefix share them.
 *
 * <p>Prefix caching: a full block whose contents are identified by a hash of its prefix (tokens and images from
 * the sequence start) can be registered; another sequence with the same prefix then attaches it instead of
 * computing it again. A registered block nobody uses stays cached until its room is needed: it counts as free, and
 * the least recently released such block is evicted first.
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
    /** Registered full blocks by prefix hash, and each block's hash while registered. */
    private final Map<Long, Integer> cachedByHash = new HashMap<>();
    private final long[] blockHash;
    private final boolean[] registered;
    /** Registered blocks with no references, least recently released first. */
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>();
    private long prefixHits;

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
        this.blockHash = new long[blockCount];
        this.registered = new boolean[blockCount];
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

    /** Blocks a sequence can take now: the free ones and the cached ones nobody uses. */
    public synchronized int freeBlocks() {
        return freeCount + evictable.size();
    }

    /** Registered prefix blocks nobody uses, kept for reuse until their room is needed. */
    public synchronized int cachedBlocks() {
        return evictable.size();
    }

    /** Blocks attached from the prefix cache so far. */
    public synchronized long prefixHits() {
        return prefixHits;
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
        if (needed > freeCount + evictable.size()) {
            throw new KvCacheFullException(needed, freeCount + evictable.size());
        }
        for (int i = 0; i < sequences.size(); i++) {
            KvSequence s = sequences.get(i);
            for (int b = s.blocksNeededFor(extraTokens[i]); b > 0; b--) {
                s.addBlock(allocate());
            }
        }
    }

    private int allocate() {
        int block;
        if (freeCount > 0) {
            block = free[--freeCount];
        } else {
            block = evictable.removeFirst();
            cachedByHash.remove(blockHash[block]);
            registered[block] = false;
        }
        refCounts[block] = 1;
        return block;
    }

    /**
     * Makes a full block reusable by sequences whose prefix up to and including it hashes to
     * {@code prefixHash}. A hash already registered keeps its first block.
     */
    public synchronized void registerPrefix(int block, long prefixHash) {
        if (refCounts[block] <= 0) {
            throw new IllegalStateException("block " + block + " is free");
        }
        if (!registered[block] && !cachedByHash.containsKey(prefixHash)) {
            cachedByHash.put(prefixHash, block);
            blockHash[block] = prefixHash;
            registered[block] = true;
        }
    }

    /**
     * Attaches to an empty sequence the longest run of cached blocks matching {@code prefixHashes} (one per full
     * block, in order), at most {@code maxBlocks}; returns how many were attached. Their positions count as
     * computed: the sequence continues after them.
     */
    public synchronized int attachCachedPrefix(KvSequence sequence, long[] prefixHashes, int maxBlocks) {
        if (sequence.pool() != this || sequence.length() != 0 || sequence.blockCount() != 0) {
            throw new IllegalStateException("a cached prefix attaches only to a new sequence of this pool");
        }
        int attached = 0;
        while (attached < Math.min(maxBlocks, prefixHashes.length)) {
            Integer block = cachedByHash.get(prefixHashes[attached]);
            if (block == null) {
                break;
            }
            if (refCounts[block] == 0) {
                evictable.remove(block);
            }
            refCounts[block]++;
            sequence.addBlock(block);
            sequence.advance(blockSize);
            attached++;
        }
        prefixHits += attached;
        return attached;
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
            if (registered[block]) {
                evictable.add(block);
            } else {
                free[freeCount++] = block;
            }
        }
    }

    float[] keys(int layer) {
        return keys[layer];
    }

    float[] values(int layer) {
        return values[layer];
    }
}
