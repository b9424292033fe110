package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.List;

/**
 * {@code y = x · Wᵀ} for a {@link WeightMatrix} as dot products of whole rows: every output is one x row dotted with
 * one W row, L lanes accumulating their share of the terms in k order, then the lanes summed. The memory-bound
 * path of decode and small batches: weights are read once per call for all rows.
 *
 * <p>Weights are dotted four rows at a time with x rows four at a time (16 accumulators). Up to four x rows read
 * them in place from the mapped file, in sequential streams: one x row takes two weight rows at a time, half the
 * call's weights apart ({@link #singleRow}; long rows in aligned vectors, {@link #pairDots}); two to four x rows take
 * four, one from each quarter of a task. More x rows read them through a copy, made a block at a time, that stays
 * in L2. BF16 rows are widened in registers: a 32-bit lane holds two values, its high half is one fp32 and its low
 * half shifted up the other, so x is laid out with each block's even terms before its odd ones
 * ({@link WeightMatrix#pairedLayout}). Other dtypes (and BF16 rows of a length that is not a whole number of blocks)
 * are widened into a small fp32 buffer first. One x row is bound by memory bandwidth, dozens by the FMA units. Rows
 * of x are taken in blocks that stay in L2; the work is split over output-row chunks and x-row blocks.
 */
final class RowDotProduct {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Weight rows per kernel call, and x rows per kernel call. */
    private static final int W_ROWS = 4;
    private static final int X_ROWS = 4;
    /** x rows per block: 64 rows of the widest input (4864) stay in a 2 MB L2 next to the widened weights. */
    private static final int X_BLOCK = 64;
    /** Tasks per thread for balance on a machine shared with other work. */
    private static final int TASKS_PER_THREAD = 8;
    /**
     * Tasks per thread for a single x row: one, so each thread's two streams stay as far apart as {@link #singleRow}
     * puts them and the threads' streams a quarter of the call's weights apart (batch-1 exact decode in the fast
     * memory state: 75.4% of the read probe against 73.4% with two tasks per thread, 27 and 22 rounds). The
     * threads then end some 10 us apart on a 230 us product (gate and up), yet letting the first one done take
     * blocks from the back of the other's range was slower: claiming 64 KB at a time through a CAS (a locked
     * instruction between the blocks of a stream; with or without each range's bounds on a line of its own) read
     * every product of the decode step slower (batch-1 fast decode 82-83% -> 75-79% of the probe in the fast memory
     * state, 94% -> 91-92% in the slow one; two runs of separate JVMs alternating).
     */
    private static final int SINGLE_ROW_TASKS_PER_THREAD = 1;

    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Bytes per vector, and per block of BF16 pairs. */
    private static final int VECTOR_BYTES = I.vectorByteSize();
    /**
     * The shortest rows a single-row product reads in aligned vectors, with x packed as BF16 on the fast path
     * ({@link #pairDots}): 896-wide rows lose by the first and do not gain by the second, 4864-wide ones gain by
     * both; lengths in between were not measured.
     */
    private static final int LONG_ROW_MIN_IN_DIM = 4096;
    /**
     * Not on x86 without AVX-512, where joining lanes of two vectors takes several instructions, and a 32-byte load
     * straddles a cache line half as often: down projections in the decode step on an AVX2 Zen 3, fast path,
     * median 24.5 GB/s joined against 26.6 straddling (nine rounds each, separate JVMs alternating).
     */
    private static final boolean JOIN_LONG_ROWS = !VectorCpu.X86_WITHOUT_AVX512;
    /** {@code JOIN[s]} takes lanes s.. of one vector, then the first of the next: a block s lanes past a boundary. */
    private static final IntVector[] JOIN = java.util.stream.IntStream.range(0, L)
            .mapToObj(s -> IntVector.zero(I).addIndex(1).add(s)).toArray(IntVector[]::new);
    /** Lane i takes element 2i: with offsets 0 and 1, the even and odd terms of a block of 2L (a gather from L1). */
    private static final int[] EVEN = java.util.stream.IntStream.range(0, L).map(i -> 2 * i).toArray();

    /** Bytes of weight rows staged per copy when there are several x rows: about 256 KB, well inside L2. */
    private static final int STAGE_BYTES = 1 << 18;
    private static final ThreadLocal<Stage> STAGE = ThreadLocal.withInitial(Stage::new);

    /** A thread's staging buffer, grown as needed, off-heap so the kernel reads it like the mapped weights. */
    private static final class Stage {
        private MemorySegment segment = MemorySegment.NULL;

        MemorySegment fit(long bytes) {
            if (segment.byteSize() < bytes) {
                segment = Arena.ofAuto().allocate(bytes, 64);
            }
            return segment;
        }
    }

    private static final ThreadLocal<float[]> WIDENED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> SUMS = ThreadLocal.withInitial(() -> new float[W_ROWS * X_ROWS]);
    /** The 4 x 4 kernels' accumulators, lane by lane, for {@link #laneSums}. */
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[W_ROWS * X_ROWS * L]);

    private RowDotProduct() {
    }

    /**
     * {@code y (+)= x · Wᵀ + bias} for every target, all with the same x (and so the same inDim), in one job of the
     * pool: the products of a layer that share an input (q, k and v; gate and up) cost one hand-off, not one each.
     *
     * @param roundToBf16 round x to BF16 before the products (the fast path's activations)
     */
    static void product(ComputePool pool, float[] x, int xOff, int ldx, int rows, List<ProductTarget> targets,
                        boolean accumulate, boolean roundToBf16) {
        ProductTarget.sharedInDim(targets);
        int totalRows = 0;
        for (ProductTarget t : targets) {
            totalRows += t.w().outDim();
        }
        // x in each layout the targets use (BF16 pairs or plain), made once.
        float[] paired = null;
        float[] plain = null;
        for (ProductTarget t : targets) {
            if (t.w().pairedLayout() && paired == null) {
                paired = arrange(x, xOff, ldx, rows, t.w(), roundToBf16);
            } else if (!t.w().pairedLayout() && plain == null) {
                plain = arrange(x, xOff, ldx, rows, t.w(), roundToBf16);
            }
        }
        if (rows == 1 && targets.stream().allMatch(t -> readsInPlace(t.w()))) {
            int k = targets.getFirst().w().inDim();
            int[] packed = roundToBf16 && readsAligned(k) ? packBf16(paired, k) : null;
            singleRow(pool, paired, packed, targets, totalRows, accumulate);
            return;
        }
        int xBlocks = MatMul.ceilDiv(rows, X_BLOCK);
        int wantChunks = MatMul.ceilDiv(pool.availableParallelism() * TASKS_PER_THREAD, xBlocks);
        int chunkRows = MatMul.ceilDiv(MatMul.ceilDiv(totalRows, Math.max(1, wantChunks)), W_ROWS) * W_ROWS;
        // Tasks: (target, chunk of its output rows, block of x rows), numbered target by target.
        int[] firstTask = new int[targets.size() + 1];
        for (int i = 0; i < targets.size(); i++) {
            firstTask[i + 1] = firstTask[i] + MatMul.ceilDiv(targets.get(i).w().outDim(), chunkRows) * xBlocks;
        }
        float[] pairedX = paired;
        float[] plainX = plain;
        pool.parallelFor(firstTask[targets.size()], task -> {
            int i = 0;
            while (task >= firstTask[i + 1]) {
                i++;
            }
            ProductTarget t = targets.get(i);
            int chunks = MatMul.ceilDiv(t.w().outDim(), chunkRows);
            int local = task - firstTask[i];
            int n0 = (local % chunks) * chunkRows;
            int n1 = Math.min(t.w().outDim(), n0 + chunkRows);
            int m0 = (local / chunks) * X_BLOCK;
            int m1 = Math.min(rows, m0 + X_BLOCK);
            productRows(t, t.w().pairedLayout() ? pairedX : plainX, rows, n0, n1, m0, m1, accumulate);
        });
    }

    /** Whether the kernels read w's BF16 rows in place: whole blocks, widened in registers. */
    private static boolean readsInPlace(WeightMatrix w) {
        return w.pairedLayout() && w.inDim() == w.dotRowLength();
    }

    /**
     * One x row, all targets read in place. Their output rows, taken in order as one list of {@code total}, are
     * dotted in pairs, row i beside row i + total / 2, so each thread reads two sequential streams half the call's
     * weights apart (gate and up: row r of each; one matrix: its two halves).
     *
     * <p>Two streams, because one thread reading one stream leaves memory idle (over 1 GB of BF16 rows on this
     * 2-vCPU VM: 66-70 GB/s for two, 51-53 for one, 40-46 for adjacent rows in pairs, whose pointers leapfrog each
     * other). Half the call apart, because concurrent streams a few MB apart slow each other down: two streams per
     * thread 1-4 MB apart read at 50-80% of the rate of streams 8 MB or more apart (1 GB of anonymous memory on 2 MB
     * pages; over the mapped checkpoint, whose 2 MB folios lie wherever the page cache put them, the loss is smaller
     * but there). Bench model, fast memory state (read probe 74-75 GB/s), against the halves of a task's rows (0.2-2
     * MB apart): gate and up 63.6 -> 68.9 GB/s, batch-1 exact decode 72.1% -> 75.4% of the probe (34 and 27 rounds,
     * separate JVMs alternating); in the slow state both about 90%.
     *
     * @param packed on the fast path with long rows, x as packed BF16 ({@link #packBf16}); null otherwise
     */
    private static void singleRow(ComputePool pool, float[] xs, int[] packed, List<ProductTarget> targets, int total,
                                  boolean accumulate) {
        int half = total / 2;
        int pairs = Math.max(1, half); // one task even with no pair, for a lone row
        int chunk = MatMul.ceilDiv(pairs, Math.min(pairs, pool.availableParallelism() * SINGLE_ROW_TASKS_PER_THREAD));
        pool.parallelFor(MatMul.ceilDiv(pairs, chunk), task -> {
            float[] sums = SUMS.get();
            int i0 = task * chunk;
            int i1 = Math.min(half, i0 + chunk);
            RowCursor a = new RowCursor(targets, i0);
            RowCursor b = new RowCursor(targets, i0 + half);
            for (int i = i0; i < i1; ) {
                // A run of pairs in which neither row moves on to another target: offsets step by a row, with no
                // lookups per pair (a pair of 896-wide rows takes ~50 ns; in one process, A/B interleaved over 98
                // fast-state rounds: o 3.1% and q, k, v 1.8% faster, batch-1 decode 1.3%).
                int run = Math.min(i1 - i, Math.min(a.left(), b.left()));
                ProductTarget ta = a.target();
                ProductTarget tb = b.target();
                MemorySegment da = ta.w().data();
                MemorySegment db = tb.w().data();
                long rowA = ta.w().rowBytes();
                long rowB = tb.w().rowBytes();
                int k = ta.w().inDim();
                for (int j = 0; j < run; j++) {
                    pairDots(da, (a.row + j) * rowA, db, (b.row + j) * rowB, k, xs, packed, sums);
                    store(sums[0], ta.bias(), ta, 0, a.row + j, accumulate);
                    store(sums[1], tb.bias(), tb, 0, b.row + j, accumulate);
                }
                a.skip(run);
                b.skip(run);
                i += run;
            }
            if (i1 == half && total % 2 == 1) { // the last row, left over from the pairs
                RowCursor last = new RowCursor(targets, total - 1);
                WeightMatrix w = last.target().w();
                store(bf16Dot(w.data(), last.row * w.rowBytes(), w.inDim(), xs), last.target().bias(), last.target(), 0,
                        last.row, accumulate);
            }
        });
    }

    /** Row {@code row} of target {@code index}: a position in the targets' output rows taken as one list. */
    private static final class RowCursor {
        private final List<ProductTarget> targets;
        int index;
        int row;

        RowCursor(List<ProductTarget> targets, int position) {
            this.targets = targets;
            row = position;
            while (index < targets.size() - 1 && row >= targets.get(index).w().outDim()) {
                row -= targets.get(index).w().outDim();
                index++;
            }
        }

        ProductTarget target() {
            return targets.get(index);
        }

        /** Rows from here to the end of this target. */
        int left() {
            return target().w().outDim() - row;
        }

        /** Moves on {@code n} rows, at most {@link #left}, to the next target's first row where this one ends. */
        void skip(int n) {
            row += n;
            if (row == targets.get(index).w().outDim() && index < targets.size() - 1) {
                index++;
                row = 0;
            }
        }
    }

    /** Output rows {@code [n0, n1)} of {@code t} for x rows {@code [m0, m1)} of {@code rows}, x arranged in xs. */
    private static void productRows(ProductTarget t, float[] xs, int rows, int n0, int n1, int m0, int m1,
                                    boolean accumulate) {
        WeightMatrix w = t.w();
        float[] bias = t.bias();
        int kPad = w.dotRowLength();
        // BF16 rows widened in registers for up to four x rows (memory-bound: no buffer round trip); for more,
        // widened once into an fp32 buffer that all x rows share (measured 15% faster at 16 rows).
        boolean direct = rows <= X_ROWS && readsInPlace(w);
        float[] sums = SUMS.get();
        long rb = w.rowBytes();
        if (direct) {
            // Two to four x rows: also straight from the mapped weights, the task's rows in four quarters dotted
            // side by side (four sequential streams), so the reads overlap the FMAs. A staged copy first, as for
            // more rows, reads and computes one after the other: batch-4 decode 77-83 tok/s against 86-91 here.
            int quarter = (n1 - n0) / W_ROWS;
            for (int r = n0; r < n0 + quarter; r++) {
                bf16Dots(w.data(), r * rb, (r + quarter) * rb, (r + 2 * quarter) * rb, (r + 3 * quarter) * rb, kPad,
                        xs, m0 * kPad, m1 - m0, sums);
                for (int i = 0; i < m1 - m0; i++) {
                    for (int j = 0; j < W_ROWS; j++) {
                        store(sums[i * W_ROWS + j], bias, t, m0 + i, r + j * quarter, accumulate);
                    }
                }
            }
            for (int r = n0 + W_ROWS * quarter; r < n1; r++) { // the remainder, each row four times over
                bf16Dots(w.data(), r * rb, r * rb, r * rb, r * rb, kPad, xs, m0 * kPad, m1 - m0, sums);
                for (int i = 0; i < m1 - m0; i++) {
                    store(sums[i * W_ROWS], bias, t, m0 + i, r, accumulate);
                }
            }
            return;
        }
        // More x rows: the weight rows are first copied, a block at a time, into a buffer that stays in L2, and
        // widened from there. One sequential copy streams from memory faster than the kernels' row-by-row reads
        // (with 16 x rows, widening from the copy: 93-115 GFLOP/s a thread against 74-88 straight from memory,
        // measured over 117 MB of rows).
        float[] widened = widenedBuffer(kPad);
        int stageRows = Math.max(1, STAGE_BYTES / (int) rb / W_ROWS) * W_ROWS;
        MemorySegment stage = STAGE.get().fit((long) stageRows * rb);
        WeightMatrix stagedRows = null;
        int staged = n0;
        for (int r = n0; r < n1; r += W_ROWS) {
            int wRows = Math.min(W_ROWS, n1 - r);
            // Missing rows of the last group repeat its last row; their results are dropped.
            int r1 = r + Math.min(1, wRows - 1);
            int r2 = r + Math.min(2, wRows - 1);
            int r3 = r + Math.min(3, wRows - 1);
            if ((r - n0) % stageRows == 0) {
                int count = Math.min(stageRows, n1 - r);
                MemorySegment.copy(w.data(), r * rb, stage, 0, count * rb);
                staged = r;
                stagedRows = new WeightMatrix(w.name(), w.dtype(), stage, count, w.inDim());
            }
            stagedRows.widenForDots(r - staged, widened, 0);
            stagedRows.widenForDots(r1 - staged, widened, kPad);
            stagedRows.widenForDots(r2 - staged, widened, 2 * kPad);
            stagedRows.widenForDots(r3 - staged, widened, 3 * kPad);
            for (int m = m0; m < m1; m += X_ROWS) {
                int xRows = Math.min(X_ROWS, m1 - m);
                if (xRows == 1) {
                    dots1x4(widened, kPad, xs, m * kPad, sums);
                } else {
                    dots4x4(widened, kPad, xs, m * kPad, xRows, sums);
                }
                for (int i = 0; i < xRows; i++) {
                    for (int j = 0; j < wRows; j++) {
                        store(sums[i * W_ROWS + j], bias, t, m + i, r + j, accumulate);
                    }
                }
            }
        }
    }

    /** Output {@code r} of row {@code m} of {@code t} (+)= {@code sum + bias[r]}; {@code bias} may be null. */
    private static void store(float sum, float[] bias, ProductTarget t, int m, int r, boolean accumulate) {
        float v = bias != null ? sum + bias[r] : sum;
        float[] y = t.rowArrays()[m];
        int at = t.rowStarts()[m] + r;
        y[at] = accumulate ? y[at] + v : v;
    }

    /** x rows copied into zero-padded rows of {@code w.dotRowLength()} in the weights' dot-product layout. */
    private static float[] arrange(float[] x, int xOff, int ldx, int rows, WeightMatrix w, boolean roundToBf16) {
        int k = w.inDim();
        int kPad = w.dotRowLength();
        float[] xs = new float[rows * kPad];
        boolean paired = w.pairedLayout();
        for (int m = 0; m < rows; m++) {
            int src = xOff + m * ldx;
            int dst = m * kPad;
            if (paired) {
                int kk = 0;
                for (int whole = k / (2 * L) * (2 * L); kk < whole; kk += 2 * L) {
                    FloatVector.fromArray(F, x, src + kk, EVEN, 0).intoArray(xs, dst + kk);
                    FloatVector.fromArray(F, x, src + kk + 1, EVEN, 0).intoArray(xs, dst + kk + L);
                }
                for (int j = 0; kk + j < k; j++) {
                    xs[dst + kk + WeightMatrix.pairedPosition(j, L)] = x[src + kk + j];
                }
            } else {
                System.arraycopy(x, src, xs, dst, k);
            }
            if (roundToBf16) {
                Bf16.roundInPlace(xs, dst, kPad); // the paired layout puts tail values past k
            }
        }
        return xs;
    }

    /**
     * One x row as {@link #arrange} leaves it on the fast path (BF16 values, each block's even terms before its odd
     * ones), packed two to an int as the weights are (lane i: the even term in the low half, the odd one in the high
     * half), so a kernel widens x as it widens a weight row ({@link #packedDots1x2}). The rounding is arrange's; this
     * only moves the BF16 bits. {@code k} is a whole number of blocks.
     */
    private static int[] packBf16(float[] paired, int k) {
        int[] packed = new int[k / 2];
        for (int kk = 0; kk < k; kk += 2 * L) {
            IntVector even = FloatVector.fromArray(F, paired, kk).reinterpretAsInts();
            IntVector odd = FloatVector.fromArray(F, paired, kk + L).reinterpretAsInts();
            odd.and(0xFFFF0000).or(even.lanewise(VectorOperators.LSHR, 16)).intoArray(packed, kk / 2);
        }
        return packed;
    }

    /** A per-thread buffer for {@link #W_ROWS} widened weight rows. */
    private static float[] widenedBuffer(int kPad) {
        float[] b = WIDENED.get();
        if (b.length < W_ROWS * kPad) {
            b = new float[W_ROWS * kPad];
            WIDENED.set(b);
        }
        return b;
    }

    /**
     * Four BF16 weight rows (byte offsets {@code w0..w3} into {@code data}, {@code k} values each, a whole number of
     * blocks) against 1 to 4 x rows in the paired layout (row stride {@code k}): {@code sums[i * 4 + j] = w[j] · x[i]}
     * for the x rows there are (fewer rows, fewer FMAs: batch-2 decode 70-71 tok/s against 60-63 with four rows' work).
     */
    private static void bf16Dots(MemorySegment data, long w0, long w1, long w2, long w3, int k, float[] xs, int xOff,
                                 int rows, float[] sums) {
        int x0 = xOff;
        int x1 = x0 + k;
        int x2 = x1 + k;
        int x3 = x2 + k;
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s02 = s00, s03 = s00;
        FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        FloatVector s20 = s00, s21 = s00, s22 = s00, s23 = s00;
        FloatVector s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        for (int kk = 0; kk < k; kk += 2 * L) {
            long at = 2L * kk;
            IntVector p0 = IntVector.fromMemorySegment(I, data, w0 + at, le);
            IntVector p1 = IntVector.fromMemorySegment(I, data, w1 + at, le);
            IntVector p2 = IntVector.fromMemorySegment(I, data, w2 + at, le);
            IntVector p3 = IntVector.fromMemorySegment(I, data, w3 + at, le);
            // Even terms: the low halves shifted up; odd terms: the high halves in place.
            FloatVector e0 = p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector e1 = p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector e2 = p2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector e3 = p3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector xv = FloatVector.fromArray(F, xs, x0 + kk);
            s00 = e0.fma(xv, s00);
            s01 = e1.fma(xv, s01);
            s02 = e2.fma(xv, s02);
            s03 = e3.fma(xv, s03);
            if (rows > 1) {
                xv = FloatVector.fromArray(F, xs, x1 + kk);
                s10 = e0.fma(xv, s10);
                s11 = e1.fma(xv, s11);
                s12 = e2.fma(xv, s12);
                s13 = e3.fma(xv, s13);
            }
            if (rows > 2) {
                xv = FloatVector.fromArray(F, xs, x2 + kk);
                s20 = e0.fma(xv, s20);
                s21 = e1.fma(xv, s21);
                s22 = e2.fma(xv, s22);
                s23 = e3.fma(xv, s23);
            }
            if (rows > 3) {
                xv = FloatVector.fromArray(F, xs, x3 + kk);
                s30 = e0.fma(xv, s30);
                s31 = e1.fma(xv, s31);
                s32 = e2.fma(xv, s32);
                s33 = e3.fma(xv, s33);
            }
            FloatVector o0 = p0.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector o1 = p1.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector o2 = p2.and(0xFFFF0000).reinterpretAsFloats();
            FloatVector o3 = p3.and(0xFFFF0000).reinterpretAsFloats();
            xv = FloatVector.fromArray(F, xs, x0 + kk + L);
            s00 = o0.fma(xv, s00);
            s01 = o1.fma(xv, s01);
            s02 = o2.fma(xv, s02);
            s03 = o3.fma(xv, s03);
            if (rows > 1) {
                xv = FloatVector.fromArray(F, xs, x1 + kk + L);
                s10 = o0.fma(xv, s10);
                s11 = o1.fma(xv, s11);
                s12 = o2.fma(xv, s12);
                s13 = o3.fma(xv, s13);
            }
            if (rows > 2) {
                xv = FloatVector.fromArray(F, xs, x2 + kk + L);
                s20 = o0.fma(xv, s20);
                s21 = o1.fma(xv, s21);
                s22 = o2.fma(xv, s22);
                s23 = o3.fma(xv, s23);
            }
            if (rows > 3) {
                xv = FloatVector.fromArray(F, xs, x3 + kk + L);
                s30 = o0.fma(xv, s30);
                s31 = o1.fma(xv, s31);
                s32 = o2.fma(xv, s32);
                s33 = o3.fma(xv, s33);
            }
        }
        float[] lanes = LANES.get();
        s00.intoArray(lanes, 0);
        s01.intoArray(lanes, L);
        s02.intoArray(lanes, 2 * L);
        s03.intoArray(lanes, 3 * L);
        s10.intoArray(lanes, 4 * L);
        s11.intoArray(lanes, 5 * L);
        s12.intoArray(lanes, 6 * L);
        s13.intoArray(lanes, 7 * L);
        s20.intoArray(lanes, 8 * L);
        s21.intoArray(lanes, 9 * L);
        s22.intoArray(lanes, 10 * L);
        s23.intoArray(lanes, 11 * L);
        s30.intoArray(lanes, 12 * L);
        s31.intoArray(lanes, 13 * L);
        s32.intoArray(lanes, 14 * L);
        s33.intoArray(lanes, 15 * L);
        laneSums(lanes, rows * W_ROWS, sums);
    }

    /**
     * {@link #bf16Dots1x2} of two rows, or {@link #joinedDots1x2} ({@link #packedDots1x2} given x packed) where they
     * are long and their aligned vectors lie inside their tensors. Tensors in a safetensors file start wherever the
     * header ends (8-byte aligned), so a block's 64-byte load usually straddles two cache lines; for long rows,
     * aligned loads joined in registers read faster (4864-wide down projections, same process, A/B interleaved:
     * +7.8% over 33 fast-state rounds, +1.6% over 115 slow ones), for 896-wide ones the permute costs more than the
     * straddling (4-15% slower), and so does aligning them by shifting x instead (x laid out once a call to line up
     * with aligned weight vectors, one more block a row, the accumulators rotated back: the same bits, 10% slower
     * from L2). The same sums whichever runs: packed x holds the BF16 values the fast path's float x holds.
     */
    private static void pairDots(MemorySegment data0, long w0, MemorySegment data1, long w1, int k, float[] xs,
                                 int[] packed, float[] sums) {
        int shift0 = readsAligned(k) ? laneShift(data0, w0, k) : -1;
        int shift1 = shift0 >= 0 ? laneShift(data1, w1, k) : -1;
        if (shift1 >= 0 && packed != null) {
            packedDots1x2(data0, w0, shift0, data1, w1, shift1, k, packed, sums);
        } else if (shift1 >= 0) {
            joinedDots1x2(data0, w0, shift0, data1, w1, shift1, k, xs, sums);
        } else {
            bf16Dots1x2(data0, w0, data1, w1, k, xs, sums);
        }
    }

    /** Whether rows of {@code k} values are read in aligned vectors joined in registers, where they allow it. */
    private static boolean readsAligned(int k) {
        return JOIN_LONG_ROWS && k >= LONG_ROW_MIN_IN_DIM;
    }

    /**
     * How many 4-byte lanes the BF16 row of {@code k} values at {@code offset} of {@code data} starts past a vector
     * boundary; -1 where the aligned vectors around it reach outside {@code data} (a row at either end) or the row
     * is not 4-byte aligned.
     */
    private static int laneShift(MemorySegment data, long offset, int k) {
        long address = data.address() + offset;
        long lead = address & (VECTOR_BYTES - 1);
        boolean inside = offset >= lead && offset - lead + 2L * k + VECTOR_BYTES <= data.byteSize();
        return (address & 3) == 0 && inside ? (int) (lead / 4) : -1;
    }

    /**
     * As {@link #bf16Dots1x2}, the same sums, for rows that start {@code shift0} and {@code shift1} lanes past a
     * vector boundary ({@link #laneShift}): read in aligned vectors, each block put together from two of them by a
     * two-vector permute.
     */
    private static void joinedDots1x2(MemorySegment data0, long w0, int shift0, MemorySegment data1, long w1,
                                      int shift1, int k, float[] xs, float[] sums) {
        IntVector join0 = JOIN[shift0];
        IntVector join1 = JOIN[shift1];
        long line0 = w0 - 4L * shift0;
        long line1 = w1 - 4L * shift1;
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        IntVector lo0 = IntVector.fromMemorySegment(I, data0, line0, le);
        IntVector lo1 = IntVector.fromMemorySegment(I, data1, line1, le);
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (long kk = 0; kk < k; kk += 2 * L) { // a long counter, as in bf16Dots1x2
            FloatVector xe = FloatVector.fromArray(F, xs, (int) kk);
            FloatVector xo = FloatVector.fromArray(F, xs, (int) kk + L);
            IntVector hi0 = IntVector.fromMemorySegment(I, data0, line0 + 2 * kk + VECTOR_BYTES, le);
            IntVector hi1 = IntVector.fromMemorySegment(I, data1, line1 + 2 * kk + VECTOR_BYTES, le);
            IntVector p0 = join0.selectFrom(lo0, hi0);
            IntVector p1 = join1.selectFrom(lo1, hi1);
            lo0 = hi0;
            lo1 = hi1;
            s0 = addBlock(p0, xe, xo, s0);
            s1 = addBlock(p1, xe, xo, s1);
        }
        sums[0] = Lanes.sum(s0);
        sums[1] = Lanes.sum(s1);
    }

    /**
     * As {@link #joinedDots1x2}, the same sums, with x as packed BF16 pairs ({@link #packBf16}): half the bytes, so a
     * 4864-wide x row (9.5 KB) stays in L1 beside the weight streams, where as fp32 (19 KB) it is evicted by them and
     * fetched again for every pair of rows. Fast-path batch-1 decode, down projections in the decode step: 51 -> 65
     * GB/s with the read probe at ~77 (the step 15.9 -> 15.4 ms), 42 -> 47 at ~50 (separate JVMs alternating). A
     * twin of {@link #joinedDots1x2} for x in a second representation: one kernel with a branch on the
     * representation in its loop read the down projections 2-3% slower (64 against 66 GB/s, 46 against 47).
     */
    private static void packedDots1x2(MemorySegment data0, long w0, int shift0, MemorySegment data1, long w1,
                                      int shift1, int k, int[] packed, float[] sums) {
        IntVector join0 = JOIN[shift0];
        IntVector join1 = JOIN[shift1];
        long line0 = w0 - 4L * shift0;
        long line1 = w1 - 4L * shift1;
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        IntVector lo0 = IntVector.fromMemorySegment(I, data0, line0, le);
        IntVector lo1 = IntVector.fromMemorySegment(I, data1, line1, le);
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (long kk = 0; kk < k; kk += 2 * L) { // a long counter, as in bf16Dots1x2
            IntVector px = IntVector.fromArray(I, packed, (int) (kk / 2));
            FloatVector xe = px.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector xo = px.and(0xFFFF0000).reinterpretAsFloats();
            IntVector hi0 = IntVector.fromMemorySegment(I, data0, line0 + 2 * kk + VECTOR_BYTES, le);
            IntVector hi1 = IntVector.fromMemorySegment(I, data1, line1 + 2 * kk + VECTOR_BYTES, le);
            IntVector p0 = join0.selectFrom(lo0, hi0);
            IntVector p1 = join1.selectFrom(lo1, hi1);
            lo0 = hi0;
            lo1 = hi1;
            s0 = addBlock(p0, xe, xo, s0);
            s1 = addBlock(p1, xe, xo, s1);
        }
        sums[0] = Lanes.sum(s0);
        sums[1] = Lanes.sum(s1);
    }

    /**
     * Two BF16 weight rows (at byte offset {@code w0} of {@code data0} and {@code w1} of {@code data1}, {@code k}
     * values each, a whole number of blocks) against one x row in the paired layout: {@code sums[j] = w[j] · x},
     * each sum's terms in the same order as in {@link #bf16Dots}.
     */
    private static void bf16Dots1x2(MemorySegment data0, long w0, MemorySegment data1, long w1, int k, float[] xs,
                                    float[] sums) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        // A long counter: C2 unrolls an int-counted loop here, and the unrolled loop streams 4864-wide rows (the
        // MLP's down projection) at about 40 GB/s, where this one keeps up with the read probe's 50-70.
        for (long kk = 0; kk < k; kk += 2 * L) {
            FloatVector xe = FloatVector.fromArray(F, xs, (int) kk);
            FloatVector xo = FloatVector.fromArray(F, xs, (int) kk + L);
            IntVector p0 = IntVector.fromMemorySegment(I, data0, w0 + 2 * kk, le);
            IntVector p1 = IntVector.fromMemorySegment(I, data1, w1 + 2 * kk, le);
            s0 = addBlock(p0, xe, xo, s0);
            s1 = addBlock(p1, xe, xo, s1);
        }
        sums[0] = Lanes.sum(s0);
        sums[1] = Lanes.sum(s1);
    }

    /**
     * {@code s} plus one block of BF16 pairs {@code p} times x: the low halves (even terms, shifted up) against
     * {@code xe}, then the high halves (odd terms, in place) against {@code xo}.
     */
    private static FloatVector addBlock(IntVector p, FloatVector xe, FloatVector xo, FloatVector s) {
        FloatVector even = p.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
        return p.and(0xFFFF0000).reinterpretAsFloats().fma(xo, even.fma(xe, s));
    }

    /** As {@link #bf16Dots1x2} for one weight row (the odd one out of a task). */
    private static float bf16Dot(MemorySegment data, long w0, int k, float[] xs) {
        FloatVector s = FloatVector.zero(F);
        for (int kk = 0; kk < k; kk += 2 * L) {
            IntVector p = IntVector.fromMemorySegment(I, data, w0 + 2L * kk, ByteOrder.LITTLE_ENDIAN);
            s = addBlock(p, FloatVector.fromArray(F, xs, kk), FloatVector.fromArray(F, xs, kk + L), s);
        }
        return Lanes.sum(s);
    }

    /**
     * {@code sums[i]} = the lane sum of accumulator i, {@code lanes[i * L ..]}, for the first {@code n}. Through a
     * buffer because a kernel that calls {@link Lanes#sum} sixteen times outgrows C2's inlining budget: it kept
     * twelve of the calls, each boxing its vector (a third of batch-16 exact decode's time in the dot kernels).
     * One call site in a loop is inlined; the sums are the same. The kernels store their accumulators with
     * sixteen lines each rather than through a helper that takes the vectors: such a helper was itself left as a
     * call in {@code bf16Dots} (the same node budget), boxing all sixteen.
     */
    private static void laneSums(float[] lanes, int n, float[] sums) {
        for (int i = 0; i < n; i++) {
            sums[i] = Lanes.sum(FloatVector.fromArray(F, lanes, i * L));
        }
    }

    /** Four widened weight rows against one x row: {@code sums[j] = w[j] · x}. */
    private static void dots1x4(float[] w, int kPad, float[] xs, int xOff, float[] sums) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int kk = 0; kk < kPad; kk += L) {
            FloatVector xv = FloatVector.fromArray(F, xs, xOff + kk);
            s0 = FloatVector.fromArray(F, w, kk).fma(xv, s0);
            s1 = FloatVector.fromArray(F, w, kPad + kk).fma(xv, s1);
            s2 = FloatVector.fromArray(F, w, 2 * kPad + kk).fma(xv, s2);
            s3 = FloatVector.fromArray(F, w, 3 * kPad + kk).fma(xv, s3);
        }
        sums[0] = Lanes.sum(s0);
        sums[1] = Lanes.sum(s1);
        sums[2] = Lanes.sum(s2);
        sums[3] = Lanes.sum(s3);
    }

    /**
     * Four widened weight rows against 2 to 4 x rows (row stride {@code kPad}; missing rows repeat the last):
     * {@code sums[i * 4 + j] = w[j] · x[i]}.
     */
    private static void dots4x4(float[] w, int kPad, float[] xs, int xOff, int rows, float[] sums) {
        int x0 = xOff;
        int x1 = x0 + kPad;
        int x2 = rows > 2 ? x1 + kPad : x1;
        int x3 = rows > 3 ? x2 + kPad : x2;
        FloatVector s00 = FloatVector.zero(F), s01 = s00, s02 = s00, s03 = s00;
        FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        FloatVector s20 = s00, s21 = s00, s22 = s00, s23 = s00;
        FloatVector s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        for (int kk = 0; kk < kPad; kk += L) {
            FloatVector w0 = FloatVector.fromArray(F, w, kk);
            FloatVector w1 = FloatVector.fromArray(F, w, kPad + kk);
            FloatVector w2 = FloatVector.fromArray(F, w, 2 * kPad + kk);
            FloatVector w3 = FloatVector.fromArray(F, w, 3 * kPad + kk);
            FloatVector xv = FloatVector.fromArray(F, xs, x0 + kk);
            s00 = w0.fma(xv, s00);
            s01 = w1.fma(xv, s01);
            s02 = w2.fma(xv, s02);
            s03 = w3.fma(xv, s03);
            xv = FloatVector.fromArray(F, xs, x1 + kk);
            s10 = w0.fma(xv, s10);
            s11 = w1.fma(xv, s11);
            s12 = w2.fma(xv, s12);
            s13 = w3.fma(xv, s13);
            xv = FloatVector.fromArray(F, xs, x2 + kk);
            s20 = w0.fma(xv, s20);
            s21 = w1.fma(xv, s21);
            s22 = w2.fma(xv, s22);
            s23 = w3.fma(xv, s23);
            xv = FloatVector.fromArray(F, xs, x3 + kk);
            s30 = w0.fma(xv, s30);
            s31 = w1.fma(xv, s31);
            s32 = w2.fma(xv, s32);
            s33 = w3.fma(xv, s33);
        }
        float[] lanes = LANES.get();
        s00.intoArray(lanes, 0);
        s01.intoArray(lanes, L);
        s02.intoArray(lanes, 2 * L);
        s03.intoArray(lanes, 3 * L);
        s10.intoArray(lanes, 4 * L);
        s11.intoArray(lanes, 5 * L);
        s12.intoArray(lanes, 6 * L);
        s13.intoArray(lanes, 7 * L);
        s20.intoArray(lanes, 8 * L);
        s21.intoArray(lanes, 9 * L);
        s22.intoArray(lanes, 10 * L);
        s23.intoArray(lanes, 11 * L);
        s30.intoArray(lanes, 12 * L);
        s31.intoArray(lanes, 13 * L);
        s32.intoArray(lanes, 14 * L);
        s33.intoArray(lanes, 15 * L);
        laneSums(lanes, W_ROWS * X_ROWS, sums);
    }
}
