package dev.internvl.mesh.model.llm;

import dev.internvl.mesh.checkpoint.LlmConfig;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The paged KV cache's block accounting: a fixed number of blocks, each holding the keys and values of
 * {@code blockSize} consecutive positions of one sequence, for every layer. A sequence owns a table of blocks
 * ({@link KvSequence}); blocks carry a reference count so that sequences with a common prefix share them. The
 * contents live in a {@link KvStorage}: this pool's own when the model's layers run in this process, or one per
 * layer shard, each indexed by the block ids handed out here.
 *
 * <p>Prefix caching: a full block whose contents are identified by a hash of its prefix (tokens and images from
 * the sequence start) can be registered; another sequence with the same prefix then attaches it instead of
 * computing it again. A registered block nobody uses stays cached until its room is needed: it counts as free, and
 * the least recently released such block is evicted first. Allocation and release are thread-safe.
 */
public final class KvBlockPool {
    private final int blockSize;
    private final int blockCount;
    /** Null when the layers, and so the contents, live in other processes. */
    private final KvStorage storage;
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

    /** A pool with storage for {@code layers} layers of {@code kvDim} keys and values per position. */
    public KvBlockPool(int layers, int kvDim, int blockSize, int blockCount) {
        this(blockSize, blockCount, new KvStorage(layers, kvDim, blockSize, blockCount));
    }

    private KvBlockPool(int blockSize, int blockCount, KvStorage storage) {
        if (blockSize < 1 || blockCount < 1) {
            throw new IllegalArgumentException("KV pool needs positive sizes: blockSize " + blockSize + ", blocks " + blockCount);
        }
        this.blockSize = blockSize;
        this.blockCount = blockCount;
        this.storage = storage;
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

    /** Block accounting only: the contents live with the layer shards, each in a storage of this geometry. */
    public static KvBlockPool withoutStorage(int blockSize, int blockCount) {
        return new KvBlockPool(blockSize, blockCount, null);
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
        return KvStorage.bytesPerBlock(config.numLayers(), config.kvDim(), blockSize);
    }

    public int blockSize() {
        return blockSize;
    }

    public int blockCount() {
        return blockCount;
    }

    /** The contents of the blocks, for layers that run in this process. */
    public KvStorage storage() {
        if (storage == null) {
            throw new IllegalStateException("this KV pool only accounts for blocks; their contents live with the layer shards");
        }
        return storage;
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

    /**
     * Forgets every registered prefix: cached blocks nobody uses become free, blocks in use stay with their
     * sequences but are never offered again. For when the contents can no longer be trusted (a layer shard that
     * restarted lost its part of them).
     */
    public synchronized void forgetCachedPrefixes() {
        for (int block : evictable) {
            free[freeCount++] = block;
        }
        evictable.clear();
        cachedByHash.clear();
        Arrays.fill(registered, false);
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
}
