package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * {@code y = x · Wᵀ (+ bias)} for fp32 activations x {@code [rows, inDim]} and any {@link MatrixOperand} W
 * {@code [outDim, inDim]}, with fp32 accumulation.
 *
 * <p>Two paths. Up to {@link #GEMV_MAX_ROWS} rows of x (decode, small batches) against a {@link WeightMatrix}
 * stream the weights: each group of four weight rows is read once, in memory order, widened into a small buffer,
 * and dotted with every x row, four x rows at a time (16 accumulators). One row is memory-bound; with a few dozen
 * the 4 x 4 dot tile runs near the FMA peak. More rows go through packing: W is packed, a {@code KC x NR} block at
 * a time, into fp32 panels, and a register-tiled kernel computes {@code MR x NR} blocks of y with all accumulators
 * in vector registers; packing costs about as much as 50 rows of streaming, so it pays beyond that. Both split the output over the
 * {@link ComputePool}; all vector widths come from {@code SPECIES_PREFERRED}.
 */
public final class MatMul {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Register tile: MR rows of x by NR = 4 vectors of output columns (24 accumulators). */
    static final int MR = 6;
    static final int NR = 4 * L;
    /** Depth of one packed panel; NR x KC floats stay in L2 while all rows of a block stream past. */
    static final int KC = 256;
    /** At most this many x rows take the streaming path (measured crossover: 48 to 64 rows). */
    static final int GEMV_MAX_ROWS = 48;
    /** Weight rows one streaming kernel call covers. */
    private static final int GEMV_ROWS = 4;

    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[NR * KC]);
    private static final ThreadLocal<float[]> WIDENED = ThreadLocal.withInitial(() -> new float[0]);

    private MatMul() {
    }

    /** {@code y[rows, outDim] = x[rows, inDim] · Wᵀ + bias}, all contiguous. {@code bias} may be null. */
    public static void linear(ComputePool pool, float[] x, int rows, MatrixOperand w, float[] bias, float[] y) {
        matmul(pool, x, 0, w.inDim(), rows, w, bias, y, 0, w.outDim(), false);
    }

    /**
     * The general form: row {@code m} of x starts at {@code x[xOff + m * ldx]}, of y at {@code y[yOff + m * ldy]}.
     * With {@code accumulate} the product (and bias) is added to y's current values (a residual connection);
     * otherwise y is overwritten.
     */
    public static void matmul(ComputePool pool, float[] x, int xOff, int ldx, int rows, MatrixOperand w, float[] bias,
                              float[] y, int yOff, int ldy, boolean accumulate) {
        matmul(pool, x, xOff, ldx, rows, w, w.outDim(), w.inDim(), bias, y, yOff, ldy, accumulate);
    }

    /**
     * As {@link #matmul(ComputePool, float[], int, int, int, MatrixOperand, float[], float[], int, int, boolean)},
     * with only the leading {@code n x k} block of W (attention over the first keys of a longer cache).
     */
    public static void matmul(ComputePool pool, float[] x, int xOff, int ldx, int rows, MatrixOperand w, int n, int k,
                              float[] bias, float[] y, int yOff, int ldy, boolean accumulate) {
        if (rows <= 0 || n <= 0) {
            return;
        }
        if (n > w.outDim() || k > w.inDim()) {
            throw new IllegalArgumentException(n + " x " + k + " exceeds W's " + w.outDim() + " x " + w.inDim());
        }
        if (bias != null && bias.length < n) {
            throw new IllegalArgumentException("bias of " + bias.length + " for " + n + " outputs");
        }
        if (rows <= GEMV_MAX_ROWS && k == w.inDim() && w instanceof WeightMatrix wm) {
            streamRows(pool, x, xOff, ldx, rows, wm, n, bias, y, yOff, ldy, accumulate);
        } else {
            packedProduct(pool, x, xOff, ldx, rows, w, n, k, bias, y, yOff, ldy, accumulate);
        }
    }

    // ---- compute-bound path: packed panels and a 6 x 4-vector register tile ----

    private static void packedProduct(ComputePool pool, float[] x, int xOff, int ldx, int rows, MatrixOperand w,
                                      int n, int k, float[] bias, float[] y, int yOff, int ldy, boolean accumulate) {
        int strips = ceilDiv(n, NR);
        int wantTasks = pool.availableParallelism() * 4;
        int rowBlocks = Math.clamp(ceilDiv(wantTasks, strips), 1, ceilDiv(rows, MR));
        int blockRows = ceilDiv(ceilDiv(rows, rowBlocks), MR) * MR;
        int blocks = ceilDiv(rows, blockRows);
        pool.parallelFor(strips * blocks, task -> {
            int n0 = (task % strips) * NR;
            int nCount = Math.min(NR, n - n0);
            int m0 = (task / strips) * blockRows;
            int m1 = Math.min(rows, m0 + blockRows);
            // The kernel always writes NR columns; the last, narrower strip goes through a scratch block.
            boolean narrow = nCount < NR;
            float[] c = narrow ? new float[(m1 - m0) * NR] : y;
            int cOff = narrow ? 0 : yOff + m0 * ldy + n0;
            int ldc = narrow ? NR : ldy;
            for (int m = m0; m < m1; m++) {
                int row = cOff + (m - m0) * ldc;
                if (narrow && accumulate) {
                    System.arraycopy(y, yOff + m * ldy + n0, c, row, nCount);
                }
                initRow(c, row, nCount, bias, n0, accumulate);
            }
            float[] panel = PANEL.get();
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0);
                w.packTransposed(n0, nCount, k0, kc, panel, NR);
                for (int m = m0; m < m1; m += MR) {
                    tile(x, xOff + m * ldx + k0, ldx, Math.min(MR, m1 - m), panel, kc, c, cOff + (m - m0) * ldc, ldc);
                }
            }
            if (narrow) {
                for (int m = m0; m < m1; m++) {
                    System.arraycopy(c, (m - m0) * NR, y, yOff + m * ldy + n0, nCount);
                }
            }
        });
    }

    private static void initRow(float[] y, int off, int count, float[] bias, int biasOff, boolean accumulate) {
        if (accumulate) {
            if (bias != null) {
                for (int j = 0; j < count; j++) {
                    y[off + j] += bias[biasOff + j];
                }
            }
        } else if (bias != null) {
            System.arraycopy(bias, biasOff, y, off, count);
        } else {
            Arrays.fill(y, off, off + count, 0f);
        }
    }

    /**
     * Adds {@code a[rows, kc] · panel[kc, NR]} to the {@code rows x NR} block of c at {@code cOff}. Rows past
     * {@code rows} repeat the last valid row (their results are discarded), so the loop has one shape.
     */
    private static void tile(float[] a, int aOff, int lda, int rows, float[] panel, int kc,
                             float[] c, int cOff, int ldc) {
        int a0 = aOff;
        int a1 = rows > 1 ? a0 + lda : a0;
        int a2 = rows > 2 ? a1 + lda : a1;
        int a3 = rows > 3 ? a2 + lda : a2;
        int a4 = rows > 4 ? a3 + lda : a3;
        int a5 = rows > 5 ? a4 + lda : a4;
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00, c43 = c00;
        FloatVector c50 = c00, c51 = c00, c52 = c00, c53 = c00;
        for (int kk = 0, p = 0; kk < kc; kk++, p += NR) {
            FloatVector b0 = FloatVector.fromArray(F, panel, p);
            FloatVector b1 = FloatVector.fromArray(F, panel, p + L);
            FloatVector b2 = FloatVector.fromArray(F, panel, p + 2 * L);
            FloatVector b3 = FloatVector.fromArray(F, panel, p + 3 * L);
            FloatVector av = FloatVector.broadcast(F, a[a0 + kk]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            c02 = av.fma(b2, c02);
            c03 = av.fma(b3, c03);
            av = FloatVector.broadcast(F, a[a1 + kk]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            c12 = av.fma(b2, c12);
            c13 = av.fma(b3, c13);
            av = FloatVector.broadcast(F, a[a2 + kk]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            c22 = av.fma(b2, c22);
            c23 = av.fma(b3, c23);
            av = FloatVector.broadcast(F, a[a3 + kk]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            c32 = av.fma(b2, c32);
            c33 = av.fma(b3, c33);
            av = FloatVector.broadcast(F, a[a4 + kk]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            c42 = av.fma(b2, c42);
            c43 = av.fma(b3, c43);
            av = FloatVector.broadcast(F, a[a5 + kk]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            c52 = av.fma(b2, c52);
            c53 = av.fma(b3, c53);
        }
        // Stores are written out here, not in a helper: a call taking vectors as arguments that C2 declines to
        // inline makes it box every accumulator on every iteration of the loop above.
        FloatVector.fromArray(F, c, cOff).add(c00).intoArray(c, cOff);
        FloatVector.fromArray(F, c, cOff + L).add(c01).intoArray(c, cOff + L);
        FloatVector.fromArray(F, c, cOff + 2 * L).add(c02).intoArray(c, cOff + 2 * L);
        FloatVector.fromArray(F, c, cOff + 3 * L).add(c03).intoArray(c, cOff + 3 * L);
        if (rows > 1) {
            int o = cOff + ldc;
            FloatVector.fromArray(F, c, o).add(c10).intoArray(c, o);
            FloatVector.fromArray(F, c, o + L).add(c11).intoArray(c, o + L);
            FloatVector.fromArray(F, c, o + 2 * L).add(c12).intoArray(c, o + 2 * L);
            FloatVector.fromArray(F, c, o + 3 * L).add(c13).intoArray(c, o + 3 * L);
        }
        if (rows > 2) {
            int o = cOff + 2 * ldc;
            FloatVector.fromArray(F, c, o).add(c20).intoArray(c, o);
            FloatVector.fromArray(F, c, o + L).add(c21).intoArray(c, o + L);
            FloatVector.fromArray(F, c, o + 2 * L).add(c22).intoArray(c, o + 2 * L);
            FloatVector.fromArray(F, c, o + 3 * L).add(c23).intoArray(c, o + 3 * L);
        }
        if (rows > 3) {
            int o = cOff + 3 * ldc;
            FloatVector.fromArray(F, c, o).add(c30).intoArray(c, o);
            FloatVector.fromArray(F, c, o + L).add(c31).intoArray(c, o + L);
            FloatVector.fromArray(F, c, o + 2 * L).add(c32).intoArray(c, o + 2 * L);
            FloatVector.fromArray(F, c, o + 3 * L).add(c33).intoArray(c, o + 3 * L);
        }
        if (rows > 4) {
            int o = cOff + 4 * ldc;
            FloatVector.fromArray(F, c, o).add(c40).intoArray(c, o);
            FloatVector.fromArray(F, c, o + L).add(c41).intoArray(c, o + L);
            FloatVector.fromArray(F, c, o + 2 * L).add(c42).intoArray(c, o + 2 * L);
            FloatVector.fromArray(F, c, o + 3 * L).add(c43).intoArray(c, o + 3 * L);
        }
        if (rows > 5) {
            int o = cOff + 5 * ldc;
            FloatVector.fromArray(F, c, o).add(c50).intoArray(c, o);
            FloatVector.fromArray(F, c, o + L).add(c51).intoArray(c, o + L);
            FloatVector.fromArray(F, c, o + 2 * L).add(c52).intoArray(c, o + 2 * L);
            FloatVector.fromArray(F, c, o + 3 * L).add(c53).intoArray(c, o + 3 * L);
        }
    }

    // ---- memory-bound path: stream each weight row once for all (few) rows of x ----

    private static void streamRows(ComputePool pool, float[] x, int xOff, int ldx, int rows, WeightMatrix w, int n,
                                   float[] bias, float[] y, int yOff, int ldy, boolean accumulate) {
        int k = w.inDim();
        // x rows copied once into zero-padded rows, so the kernels need no tail handling.
        int kPad = ceilDiv(k, L) * L;
        float[] xs = new float[rows * kPad];
        for (int m = 0; m < rows; m++) {
            System.arraycopy(x, xOff + m * ldx, xs, m * kPad, k);
        }
        int parallelism = pool.availableParallelism();
        int chunk = parallelism == 1 ? n : Math.clamp(ceilDiv(n, parallelism * 16), GEMV_ROWS, 256);
        chunk = ceilDiv(chunk, GEMV_ROWS) * GEMV_ROWS;
        int chunkRows = chunk;
        pool.parallelFor(ceilDiv(n, chunkRows), task -> {
            int n0 = task * chunkRows;
            int n1 = Math.min(n, n0 + chunkRows);
            float[] widened = widenedBuffer(kPad);
            float[] sums = new float[GEMV_ROWS * GEMV_ROWS];
            for (int r = n0; r < n1; r += GEMV_ROWS) {
                int wRows = Math.min(GEMV_ROWS, n1 - r);
                // Whole rows, in memory order: a strictly sequential read is what the hardware prefetcher
                // streams best. The kernels make no calls, so their vectors stay in registers.
                for (int j = 0; j < GEMV_ROWS; j++) {
                    w.widen(r + Math.min(j, wRows - 1), 0, k, widened, j * kPad);
                }
                // x in groups of up to four rows against the same widened weight rows (kept in L1/L2).
                for (int m0 = 0; m0 < rows; m0 += GEMV_ROWS) {
                    int xRows = Math.min(GEMV_ROWS, rows - m0);
                    if (xRows == 1) {
                        dotRows1(widened, kPad, xs, m0 * kPad, sums);
                    } else {
                        dotRows4(widened, kPad, xs, m0 * kPad, xRows, sums);
                    }
                    for (int m = 0; m < xRows; m++) {
                        int out = yOff + (m0 + m) * ldy + r;
                        for (int j = 0; j < wRows; j++) {
                            float v = sums[m * GEMV_ROWS + j] + (bias != null ? bias[r + j] : 0f);
                            y[out + j] = accumulate ? y[out + j] + v : v;
                        }
                    }
                }
            }
        });
    }

    /** A per-thread buffer for four widened weight rows of {@code kPad} floats, zero past the row ends. */
    private static float[] widenedBuffer(int kPad) {
        float[] b = WIDENED.get();
        if (b.length < GEMV_ROWS * kPad) {
            b = new float[GEMV_ROWS * kPad];
            WIDENED.set(b);
        } else {
            Arrays.fill(b, 0, GEMV_ROWS * kPad, 0f);
        }
        return b;
    }

    /** Four widened weight rows (stride {@code kPad}) against one x row: {@code sums[j] = widened[j] · x}. */
    private static void dotRows1(float[] widened, int kPad, float[] xs, int xOff, float[] sums) {
        FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
        for (int kk = 0; kk < kPad; kk += L) {
            FloatVector xv = FloatVector.fromArray(F, xs, xOff + kk);
            s0 = FloatVector.fromArray(F, widened, kk).fma(xv, s0);
            s1 = FloatVector.fromArray(F, widened, kPad + kk).fma(xv, s1);
            s2 = FloatVector.fromArray(F, widened, 2 * kPad + kk).fma(xv, s2);
            s3 = FloatVector.fromArray(F, widened, 3 * kPad + kk).fma(xv, s3);
        }
        sums[0] = s0.reduceLanes(VectorOperators.ADD);
        sums[1] = s1.reduceLanes(VectorOperators.ADD);
        sums[2] = s2.reduceLanes(VectorOperators.ADD);
        sums[3] = s3.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Four widened weight rows against 2 to 4 x rows, all with row stride {@code kPad}:
     * {@code sums[m * 4 + j] = widened[j] · x[m]}. Missing x rows repeat the last one.
     */
    private static void dotRows4(float[] widened, int kPad, float[] xs, int xOff, int rows, float[] sums) {
        int x0 = xOff;
        int x1 = x0 + kPad;
        int x2 = rows > 2 ? x1 + kPad : x1;
        int x3 = rows > 3 ? x2 + kPad : x2;
        FloatVector s00 = FloatVector.zero(F), s01 = FloatVector.zero(F), s02 = FloatVector.zero(F), s03 = FloatVector.zero(F);
        FloatVector s10 = FloatVector.zero(F), s11 = FloatVector.zero(F), s12 = FloatVector.zero(F), s13 = FloatVector.zero(F);
        FloatVector s20 = FloatVector.zero(F), s21 = FloatVector.zero(F), s22 = FloatVector.zero(F), s23 = FloatVector.zero(F);
        FloatVector s30 = FloatVector.zero(F), s31 = FloatVector.zero(F), s32 = FloatVector.zero(F), s33 = FloatVector.zero(F);
        for (int kk = 0; kk < kPad; kk += L) {
            FloatVector w0 = FloatVector.fromArray(F, widened, kk);
            FloatVector w1 = FloatVector.fromArray(F, widened, kPad + kk);
            FloatVector w2 = FloatVector.fromArray(F, widened, 2 * kPad + kk);
            FloatVector w3 = FloatVector.fromArray(F, widened, 3 * kPad + kk);
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
        // Reductions written out: see the note in tile() on helpers taking vectors.
        sums[0] = s00.reduceLanes(VectorOperators.ADD);
        sums[1] = s01.reduceLanes(VectorOperators.ADD);
        sums[2] = s02.reduceLanes(VectorOperators.ADD);
        sums[3] = s03.reduceLanes(VectorOperators.ADD);
        sums[4] = s10.reduceLanes(VectorOperators.ADD);
        sums[5] = s11.reduceLanes(VectorOperators.ADD);
        sums[6] = s12.reduceLanes(VectorOperators.ADD);
        sums[7] = s13.reduceLanes(VectorOperators.ADD);
        sums[8] = s20.reduceLanes(VectorOperators.ADD);
        sums[9] = s21.reduceLanes(VectorOperators.ADD);
        sums[10] = s22.reduceLanes(VectorOperators.ADD);
        sums[11] = s23.reduceLanes(VectorOperators.ADD);
        sums[12] = s30.reduceLanes(VectorOperators.ADD);
        sums[13] = s31.reduceLanes(VectorOperators.ADD);
        sums[14] = s32.reduceLanes(VectorOperators.ADD);
        sums[15] = s33.reduceLanes(VectorOperators.ADD);
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
