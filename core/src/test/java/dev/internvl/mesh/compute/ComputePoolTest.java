package dev.internvl.mesh.compute;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ComputePoolTest {
    @Test
    void runsEveryTaskOnceIncludingNestedJobs() {
        try (ComputePool pool = new ComputePool(3)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(100 * 7);
            pool.parallelFor(100, i -> pool.parallelFor(7, j -> hits.incrementAndGet(i * 7 + j)));
            for (int i = 0; i < hits.length(); i++) {
                assertEquals(1, hits.get(i));
            }
        }
    }

    @Test
    void rethrowsATaskFailureAndStaysUsable() {
        try (ComputePool pool = new ComputePool(2)) {
            var boom = new IllegalStateException("boom");
            assertSame(boom, assertThrows(IllegalStateException.class, () -> pool.parallelFor(10, i -> {
                if (i == 6) {
                    throw boom;
                }
            })));
            AtomicIntegerArray hits = new AtomicIntegerArray(10);
            pool.parallelFor(10, hits::incrementAndGet);
            for (int i = 0; i < 10; i++) {
                assertEquals(1, hits.get(i));
            }
        }
    }

    @Test
    void concurrentCallersEachGetTheirWorkDone() throws InterruptedException {
        try (ComputePool pool = new ComputePool(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(4 * 1000);
            Thread[] callers = new Thread[4];
            for (int t = 0; t < callers.length; t++) {
                int caller = t;
                callers[t] = new Thread(() -> {
                    for (int round = 0; round < 50; round++) {
                        pool.parallelFor(1000, i -> hits.incrementAndGet(caller * 1000 + i));
                    }
                });
                callers[t].start();
            }
            for (Thread t : callers) {
                t.join();
            }
            for (int i = 0; i < hits.length(); i++) {
                assertEquals(50, hits.get(i));
            }
        }
    }
}
