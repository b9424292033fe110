package dev.internvl.mesh.model.llm;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class KvBlockPoolTest {
    @Test
    void accountsExactlyAndReturnsEveryBlock() throws KvCacheFullException {
        KvBlockPool pool = new KvBlockPool(2, 8, 16, 10);
        KvSequence a = pool.newSequence();
        KvSequence b = pool.newSequence();
        pool.reserve(List.of(a, b), new int[]{17, 16}); // 2 + 1 blocks
        assertEquals(7, pool.freeBlocks());
        assertEquals(2, a.blockCount());
        a.advance(17);
        assertEquals(0, a.blocksNeededFor(15));
        assertEquals(1, a.blocksNeededFor(16));
        pool.reserve(List.of(a), new int[]{15}); // fits the partly filled block
        assertEquals(7, pool.freeBlocks());
        pool.reserve(List.of(a), new int[]{16});
        assertEquals(6, pool.freeBlocks());
        a.release();
        a.release(); // idempotent
        assertEquals(9, pool.freeBlocks());
        b.release();
        assertEquals(10, pool.freeBlocks());
    }

    @Test
    void fullCacheAllocatesNothing() throws KvCacheFullException {
        KvBlockPool pool = new KvBlockPool(1, 4, 4, 5);
        KvSequence a = pool.newSequence();
        KvSequence b = pool.newSequence();
        pool.reserve(List.of(a), new int[]{8});
        a.advance(8);
        KvCacheFullException e = assertThrows(KvCacheFullException.class,
                () -> pool.reserve(List.of(a, b), new int[]{4, 9}));
        assertEquals(4, e.blocksNeeded());
        assertEquals(3, e.blocksFree());
        assertEquals(3, pool.freeBlocks());
        assertEquals(2, a.blockCount());
        assertEquals(0, b.blockCount());
        a.release();
        b.release();
        assertEquals(5, pool.freeBlocks());
    }

    @Test
    void referenceCountsKeepSharedBlocksAlive() throws KvCacheFullException {
        KvBlockPool pool = new KvBlockPool(1, 4, 4, 3);
        KvSequence a = pool.newSequence();
        pool.reserve(List.of(a), new int[]{4});
        int block = a.blockTable()[0];
        assertArrayEquals(new int[]{0}, a.blockTable());
        pool.retain(block);
        assertEquals(2, pool.refCount(block));
        a.release();
        assertEquals(1, pool.refCount(block));
        assertEquals(2, pool.freeBlocks());
        pool.release(block);
        assertEquals(3, pool.freeBlocks());
        assertThrows(IllegalStateException.class, () -> pool.release(block));
        assertThrows(IllegalStateException.class, () -> pool.reserve(List.of(a), new int[]{1}));
    }
}
