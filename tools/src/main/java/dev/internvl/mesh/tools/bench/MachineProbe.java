package dev.internvl.mesh.tools.bench;

import dev.internvl.mesh.checkpoint.HugePages;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures this machine's two limits that the engine's figures are judged against: the memory-read bandwidth (a
 * streaming read of a buffer as large as the weights, with the engine's thread count) and the fp32 FMA peak (FMAs
 * on register-resident vectors, no memory traffic). Best of several runs, as a noisy VM swings between runs.
 */
public final class MachineProbe {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private final int threads;

    public MachineProbe(int threads) {
        this.threads = threads;
    }

    /** Bytes per second read by {@code threads} threads streaming over a buffer of {@code bytes}, one pass per run. */
    public Measurement readBandwidth(long bytes, int runs) throws InterruptedException {
        return readBandwidth(bytes, runs, 1);
    }

    /**
     * As {@link #readBandwidth(long, int)}, each run timing {@code passes} consecutive passes over the buffer: a
     * sustained read as long as the work it is compared with (a short burst more often lands in a quiet moment of
     * a shared machine).
     */
    public Measurement readBandwidth(long bytes, int runs, int passes) throws InterruptedException {
        try (Arena arena = Arena.ofShared(); ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            long floats = bytes / 4 / SPECIES.length() * SPECIES.length();
            // On 2 MB pages where the kernel has them, as the weights are mapped (HugePages), so that the limit the
            // decode figures are held against is not lowered by 4 KB pages.
            MemorySegment buffer = HugePages.allocate(arena, floats * 4);
            for (long i = 0; i < floats; i += 1024) { // touch every page so the runs measure reads, not faults
                buffer.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f);
            }
            Measurement m = new Measurement();
            for (int r = 0; r < runs; r++) {
                long perThread = floats / threads / SPECIES.length() * SPECIES.length();
                long start = System.nanoTime();
                for (int p = 0; p < passes; p++) {
                    onEveryThread(pool, t -> sum(buffer, t * perThread, t == threads - 1 ? floats : (t + 1) * perThread));
                }
                m.add(floats * 4.0 * passes / ((System.nanoTime() - start) / 1e9));
            }
            return m;
        }
    }

    /** fp32 FLOP/s of fused multiply-adds on all threads together (an FMA counts as two FLOPs). */
    public Measurement fmaPeak(long fmasPerLanePerThread, int runs) throws InterruptedException {
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            Measurement m = new Measurement();
            for (int r = 0; r < runs; r++) {
                long iterations = fmasPerLanePerThread / ACCUMULATORS;
                long start = System.nanoTime();
                onEveryThread(pool, t -> fmaLoop(iterations));
                double seconds = (System.nanoTime() - start) / 1e9;
                m.add(2.0 * iterations * ACCUMULATORS * SPECIES.length() * threads / seconds);
            }
            return m;
        }
    }

    private void onEveryThread(ExecutorService pool, java.util.function.IntToDoubleFunction work) throws InterruptedException {
        List<Future<Double>> parts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            parts.add(pool.submit(() -> work.applyAsDouble(thread)));
        }
        double sink = 0;
        for (Future<Double> f : parts) {
            try {
                sink += f.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }
        if (sink == 42.4242) { // consumes the results so the JIT cannot discard the work
            System.err.print("");
        }
    }

    /**
     * Sums floats {@code [from, to)} as two sequential streams, the range's first half and its second side by side:
     * on this machine that reads 10-20% faster than one stream per thread, and the decode kernel reads that way.
     */
    private static double sum(MemorySegment buffer, long from, long to) {
        FloatVector a = FloatVector.zero(SPECIES);
        FloatVector b = FloatVector.zero(SPECIES);
        long step = SPECIES.length();
        long half = (to - from) / 2 / step * step;
        for (long i = from; i < from + half; i += step) {
            a = a.add(FloatVector.fromMemorySegment(SPECIES, buffer, i * 4, ByteOrder.nativeOrder()));
            b = b.add(FloatVector.fromMemorySegment(SPECIES, buffer, (i + half) * 4, ByteOrder.nativeOrder()));
        }
        for (long i = from + 2 * half; i < to; i += step) { // a last odd vector
            a = a.add(FloatVector.fromMemorySegment(SPECIES, buffer, i * 4, ByteOrder.nativeOrder()));
        }
        return a.add(b).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    private static FloatVector start(int i) {
        return FloatVector.broadcast(SPECIES, 1f + i * 0.01f);
    }

    /** Enough independent accumulators to cover the FMA latency times the number of FMA ports. */
    private static final int ACCUMULATORS = 12;

    private static double fmaLoop(long iterations) {
        // Distinct starting values: identical chains would be merged by the JIT into one.
        FloatVector x = FloatVector.broadcast(SPECIES, 0.999999f);
        FloatVector y = FloatVector.broadcast(SPECIES, 1e-7f);
        FloatVector a0 = start(0), a1 = start(1), a2 = start(2), a3 = start(3), a4 = start(4), a5 = start(5);
        FloatVector a6 = start(6), a7 = start(7), a8 = start(8), a9 = start(9), a10 = start(10), a11 = start(11);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(x, y);
            a1 = a1.fma(x, y);
            a2 = a2.fma(x, y);
            a3 = a3.fma(x, y);
            a4 = a4.fma(x, y);
            a5 = a5.fma(x, y);
            a6 = a6.fma(x, y);
            a7 = a7.fma(x, y);
            a8 = a8.fma(x, y);
            a9 = a9.fma(x, y);
            a10 = a10.fma(x, y);
            a11 = a11.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
