package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code y = x · Wᵀ (+ bias)} for fp32 activations x {@code [rows, inDim]} and any {@link MatrixOperand} W
 * {@code [outDim, inDim]}, with fp32 accumulation.
 *
 * <p>Two Java paths. Up to {@link #ROW_DOT_MAX_ROWS} rows of x (decode, small batches) against a
 * {@link WeightMatrix} go through {@link RowDotProduct}, which streams the weights once for all rows. More rows go
 * through packing: W is packed, a {@code KC x NR} block at a time, into fp32 panels, and a register-tiled kernel
 * computes {@code MR x NR} blocks of y with all accumulators in vector registers (NR: {@link #TILE_VECTORS}
 * vectors); packing costs about as much as 50 rows of streaming, so it pays beyond that. Both split the output over
 * the {@link ComputePool}; all vector widths come from {@code SPECIES_PREFERRED}.
 *
 * <p>On the {@link Precision#FAST fast} path x is rounded to BF16 first, and products with weights of
 * {@link #NATIVE_MIN_ROWS} rows or more go to {@link NativeBf16Gemm} (oneDNN on AVX512_BF16, twice the fp32 FMA
 * rate) when it is available.
 *
 * <p>Batch invariance. Within each path an output's terms are summed in an order that depends only on k, not on
 * the number of rows: a decode row gives the same bits alone or in a batch of up to {@link #ROW_DOT_MAX_ROWS}
 * rows. The two paths' orders differ, so a prompt position computed in a short prefill chunk and in a long one can
 * differ in the last bits (about 1e-5 on logits). Running the exact path's many-row products on the row-dot kernel
 * too would remove that, but measured 71-73% of the exact prefill rate (512 and 2048 tokens): the dot form needs a
 * lane reduction per output and streams x from L2, where the packed kernel keeps 24 accumulators per 4 loads.
 */
public final class MatMul {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Register tile: MR rows of x by {@link #TILE_VECTORS} vectors of output columns. */
    static final int MR = 6;
    /**
     * Four vectors (24 accumulators) where the CPU has 32 vector registers; two (12) on x86 without AVX-512, which
     * has 16: there the wider tile spills accumulators to the stack on every step (prefill at 40% of the fp32 FMA
     * peak on an AVX2 Zen 3).
     */
    static final int TILE_VECTORS = VectorCpu.X86_WITHOUT_AVX512 ? 2 : 4;
    /** The widest tile's columns: the panel buffer fits either tile. */
    private static final int MAX_NR = 4 * L;
    /** Depth of one packed panel: a task's panels ({@link #GROUP_PANEL_BYTES}) stay in L2 while x rows pass. */
    static final int KC = 256;
    /** At most this many x rows take the streaming row-dot kernel (measured crossover: 48 to 64 rows). */
    static final int ROW_DOT_MAX_ROWS = 48;
    /**
     * On the fast path, from this many rows the native BF16 GEMM beats the row-dot kernel even on weights read
     * from memory (decode batches, separate JVMs: 7% faster at 3 rows, 32% at 4; 10-12% slower at 2).
     */
    static final int NATIVE_MIN_ROWS = 3;

    private static final ThreadLocal<float[][]> PANELS = ThreadLocal.withInitial(() -> new float[0][]);
    /**
     * Bytes of packed panels a task keeps at once, for a group of strips of output columns (up to eight of the
     * narrow tile's, two of the wide one's): with a block of {@link #X_BLOCK_ROWS} x rows they stay in L2, so a
     * KC-deep block of x rows is read from L3 once a group, not once a strip. On an AVX2 Zen 3 (narrow tile,
     * separate JVMs alternating, two runs each; m x k x n): 1025 x 1024 x 3072 median 84 -> 109 GFLOP/s,
     * 512 x 896 x 4864 77-118 -> 108-124, the ViT tile (exact) best 7.7 -> 6.5 s.
     */
    private static final int GROUP_PANEL_BYTES = 128 << 10;
    /** x rows taken past a group's panels at a time: 96 rows of KC floats, 96 KB. */
    private static final int X_BLOCK_ROWS = 16 * MR;

    private MatMul() {
    }

    /** What runs the fast path's many-row products with BF16 weights on this machine, in words. */
    public static String fastGemm() {
        return NativeBf16Gemm.available() ? "oneDNN BF16 matmul (AVX512_BF16), native"
                : "Vector API fp32 kernels on BF16-rounded activations (no native BF16 GEMM here)";
    }

    /** {@code y[rows, outDim] = x[rows, inDim] · Wᵀ + bias}, all contiguous, on the exact path. {@code bias} may be null. */
    public static void linear(ComputePool pool, float[] x, int rows, MatrixOperand w, float[] bias, float[] y) {
        linear(pool, Precision.EXACT, x, rows, w, bias, y);
    }

    /** {@code y[rows, outDim] = x[rows, inDim] · Wᵀ + bias}, all contiguous. {@code bias} may be null. */
    public static void linear(ComputePool pool, Precision precision, float[] x, int rows, MatrixOperand w, float[] bias,
                              float[] y) {
        matmul(pool, precision, x, 0, w.inDim(), rows, w, bias, y, 0, w.outDim(), false);
    }

    /** {@link #matmul(ComputePool, Precision, float[], int, int, int, MatrixOperand, float[], float[], int, int, boolean)} on the exact path. */
    public static void matmul(ComputePool pool, float[] x, int xOff, int ldx, int rows, MatrixOperand w, float[] bias,
                              float[] y, int yOff, int ldy, boolean accumulate) {
        matmul(pool, Precision.EXACT, x, xOff, ldx, rows, w, bias, y, yOff, ldy, accumulate);
    }

    /**
     * The general form: row {@code m} of x starts at {@code x[xOff + m * ldx]}, of y at {@code y[yOff + m * ldy]}.
     * With {@code accumulate} the product (and bias) is added to y's current values (a residual connection);
     * otherwise y is overwritten. On the fast path x is rounded to BF16 first (see the class comment).
     */
    public static void matmul(ComputePool pool, Precision precision, float[] x, int xOff, int ldx, int rows,
                              MatrixOperand w, float[] bias, float[] y, int yOff, int ldy, boolean accumulate) {
        checkBias(bias, w.outDim());
        if (rows <= 0) {
            return;
        }
        if (w instanceof WeightMatrix wm && sharedProduct(pool, precision, x, xOff, ldx, rows,
                List.of(ProductTarget.strided(wm, bias, y, yOff, ldy, rows)), accumulate)) {
            return;
        }
        if (precision == Precision.FAST) {
            int k = w.inDim();
            float[] rounded = new float[rows * k];
            for (int m = 0; m < rows; m++) {
                System.arraycopy(x, xOff + m * ldx, rounded, m * k, k);
            }
            Bf16.roundInPlace(rounded, 0, rounded.length);
            packedProduct(pool, rounded, 0, k, rows, w, w.outDim(), k, bias, y, yOff, ldy, accumulate, TILE_VECTORS);
            return;
        }
        packedProduct(pool, x, xOff, ldx, rows, w, w.outDim(), w.inDim(), bias, y, yOff, ldy, accumulate,
                TILE_VECTORS);
    }

    /**
     * {@code ys[i][rows, outDim_i] = x[rows, inDim] · W_iᵀ + biases[i]} for weights that share their input (a
     * layer's q, k and v projections), all contiguous; a bias may be null. On the row-dot kernel and the native
     * GEMM the products run as one job of the pool, so they cost one hand-off between threads, not one each.
     */
    public static void linear(ComputePool pool, Precision precision, float[] x, int rows, List<WeightMatrix> ws,
                              List<float[]> biases, List<float[]> ys) {
        if (rows <= 0) {
            return;
        }
        List<ProductTarget> targets = new ArrayList<>(ws.size());
        for (int i = 0; i < ws.size(); i++) {
            WeightMatrix w = ws.get(i);
            checkBias(biases.get(i), w.outDim());
            targets.add(ProductTarget.strided(w, biases.get(i), ys.get(i), 0, w.outDim(), rows));
        }
        if (!sharedProduct(pool, precision, x, 0, ws.getFirst().inDim(), rows, targets, false)) {
            for (int i = 0; i < ws.size(); i++) {
                linear(pool, precision, x, rows, ws.get(i), biases.get(i), ys.get(i));
            }
        }
    }

    /**
     * {@code x[rows, inDim] · Wᵀ + bias} with each output row in a place of its own: row m's {@code outDim} values
     * go to {@code rowArrays[m]} from {@code rowStarts[m]} (each sequence's logits in its own array, not copied out
     * of one large product).
     */
    public static void linearRows(ComputePool pool, Precision precision, float[] x, int rows, WeightMatrix w,
                                  float[] bias, float[][] rowArrays, int[] rowStarts) {
        checkBias(bias, w.outDim());
        if (rowArrays.length != rows || rowStarts.length != rows) {
            throw new IllegalArgumentException(rows + " rows need as many output places, got " + rowArrays.length
                    + " arrays and " + rowStarts.length + " starts");
        }
        if (rows <= 0) {
            return;
        }
        if (!sharedProduct(pool, precision, x, 0, w.inDim(), rows,
                List.of(new ProductTarget(w, bias, rowArrays, rowStarts)), false)) { // the packed kernel: one y
            int n = w.outDim();
            float[] y = new float[rows * n];
            linear(pool, precision, x, rows, w, bias, y);
            for (int m = 0; m < rows; m++) {
                System.arraycopy(y, m * n, rowArrays[m], rowStarts[m], n);
            }
        }
    }

    /**
     * {@code y = x · W[:n, :k]ᵀ + bias} in fp32 through packed panels, with only the leading {@code n x k} block of
     * W (attention over the first keys of a longer cache). Each output's terms are summed in k order, in blocks of
     * {@link #KC}, whatever the number of rows.
     */
    public static void matmul(ComputePool pool, float[] x, int xOff, int ldx, int rows, MatrixOperand w, int n, int k,
                              float[] bias, float[] y, int yOff, int ldy, boolean accumulate) {
        if (rows <= 0 || n <= 0) {
            return;
        }
        if (n > w.outDim() || k > w.inDim()) {
            throw new IllegalArgumentException(n + " x " + k + " exceeds W's " + w.outDim() + " x " + w.inDim());
        }
        checkBias(bias, n);
        packedProduct(pool, x, xOff, ldx, rows, w, n, k, bias, y, yOff, ldy, accumulate, TILE_VECTORS);
    }

    /** As the leading-block {@code matmul} above, on a tile of {@code tileVectors} (2 or 4) vectors of columns. */
    static void matmulOnTile(ComputePool pool, float[] x, int rows, MatrixOperand w, float[] y, int tileVectors) {
        packedProduct(pool, x, 0, w.inDim(), rows, w, w.outDim(), w.inDim(), null, y, 0, w.outDim(), false,
                tileVectors);
    }

    /**
     * The targets' products, which share x, as one job of the row-dot kernel or of the native GEMM, whichever takes
     * all of them; false, with nothing done, where neither does (the caller then runs the packed kernel).
     */
    private static boolean sharedProduct(ComputePool pool, Precision precision, float[] x, int xOff, int ldx, int rows,
                                         List<ProductTarget> targets, boolean accumulate) {
        if (targets.stream().allMatch(t -> usesRowDot(precision, rows, t.w()))) {
            RowDotProduct.product(pool, x, xOff, ldx, rows, targets, accumulate, precision == Precision.FAST);
            return true;
        }
        if (targets.stream().allMatch(t -> usesNative(precision, rows, t.w()))) {
            NativeBf16Gemm.product(pool, x, xOff, ldx, rows, targets, accumulate);
            return true;
        }
        return false;
    }

    /**
     * Whether a product with {@code w} runs on {@link RowDotProduct}: up to {@link #ROW_DOT_MAX_ROWS} rows, except
     * on the fast path from {@link #NATIVE_MIN_ROWS} rows where the native BF16 GEMM takes them.
     */
    private static boolean usesRowDot(Precision precision, int rows, WeightMatrix w) {
        return !usesNative(precision, rows, w) && rows <= ROW_DOT_MAX_ROWS;
    }

    /** Whether a product with {@code w} runs on {@link NativeBf16Gemm}: the fast path from {@link #NATIVE_MIN_ROWS} rows. */
    private static boolean usesNative(Precision precision, int rows, WeightMatrix w) {
        return precision == Precision.FAST && rows >= NATIVE_MIN_ROWS && NativeBf16Gemm.supports(w);
    }

    private static void checkBias(float[] bias, int n) {
        if (bias != null && bias.length < n) {
            throw new IllegalArgumentException("bias of " + bias.length + " for " + n + " outputs");
        }
    }

    // ---- compute-bound path: packed panels and a 6 x 4- or 6 x 2-vector register tile ----

    private static void packedProduct(ComputePool pool, float[] x, int xOff, int ldx, int rows, MatrixOperand w,
                                      int n, int k, float[] bias, float[] y, int yOff, int ldy, boolean accumulate,
                                      int tileVectors) {
        int nr = tileVectors * L;
        int strips = ceilDiv(n, nr);
        int wantTasks = pool.availableParallelism() * 4;
        int group = Math.clamp(strips / wantTasks, 1, Math.max(1, GROUP_PANEL_BYTES / (nr * KC * 4)));
        int groups = ceilDiv(strips, group);
        int rowBlocks = Math.clamp(ceilDiv(wantTasks, groups), 1, ceilDiv(rows, MR));
        int blockRows = ceilDiv(ceilDiv(rows, rowBlocks), MR) * MR;
        int blocks = ceilDiv(rows, blockRows);
        pool.parallelFor(groups * blocks, task -> {
            int s0 = (task % groups) * group;
            int count = Math.min(strips, s0 + group) - s0;
            int m0 = (task / groups) * blockRows;
            int m1 = Math.min(rows, m0 + blockRows);
            StripOutput[] out = new StripOutput[count];
            for (int s = 0; s < count; s++) {
                int n0 = (s0 + s) * nr;
                int columns = Math.min(nr, n - n0);
                boolean scratch = columns < nr;
                out[s] = scratch ? new StripOutput(new float[(m1 - m0) * nr], 0, nr, n0, columns)
                        : new StripOutput(y, yOff + m0 * ldy + n0, ldy, n0, columns);
                for (int m = m0; m < m1; m++) {
                    int row = out[s].at(m - m0);
                    if (scratch && accumulate) {
                        System.arraycopy(y, yOff + m * ldy + n0, out[s].c(), row, columns);
                    }
                    initRow(out[s].c(), row, columns, bias, n0, accumulate);
                }
            }
            float[][] panels = panels(count);
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0);
                for (int s = 0; s < count; s++) {
                    w.packTransposed(out[s].n0(), out[s].columns(), k0, kc, panels[s], nr);
                }
                for (int b0 = m0; b0 < m1; b0 += X_BLOCK_ROWS) {
                    int b1 = Math.min(m1, b0 + X_BLOCK_ROWS);
                    for (int s = 0; s < count; s++) {
                        StripOutput o = out[s];
                        for (int m = b0; m < b1; m += MR) {
                            int aOff = xOff + m * ldx + k0;
                            int tileRows = Math.min(MR, b1 - m);
                            if (tileVectors == 4) {
                                tile(x, aOff, ldx, tileRows, panels[s], kc, o.c(), o.at(m - m0), o.ld());
                            } else {
                                narrowTile(x, aOff, ldx, tileRows, panels[s], kc, o.c(), o.at(m - m0), o.ld());
                            }
                        }
                    }
                }
            }
            for (StripOutput o : out) {
                if (o.c() != y) {
                    for (int m = m0; m < m1; m++) {
                        System.arraycopy(o.c(), o.at(m - m0), y, yOff + m * ldy + o.n0(), o.columns());
                    }
                }
            }
        });
    }

    /**
     * Where a task writes output columns {@code [n0, n0 + columns)} of its rows, row i (counted from the task's
     * first) at {@code c[at(i)]}: y itself, or, for a last strip narrower than the tile (the kernel always writes a
     * whole tile), a scratch block copied into y at the end.
     */
    private record StripOutput(float[] c, int off, int ld, int n0, int columns) {
        int at(int i) {
            return off + i * ld;
        }
    }

    /** This thread's buffers for {@code count} packed panels, each of the widest tile's columns by KC. */
    private static float[][] panels(int count) {
        float[][] p = PANELS.get();
        if (p.length < count) {
            p = Arrays.copyOf(p, count);
            for (int i = 0; i < count; i++) {
                if (p[i] == null) {
                    p[i] = new float[MAX_NR * KC];
                }
            }
            PANELS.set(p);
        }
        return p;
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
     * Adds {@code a[rows, kc] · panel[kc, 4L]} to the {@code rows x 4L} block of c at {@code cOff}. Rows past
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
        for (int kk = 0, p = 0; kk < kc; kk++, p += 4 * L) {
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

    /**
     * As {@link #tile} for a panel of two vectors' columns, {@code a[rows, kc] · panel[kc, 2L]}: 12 accumulators, the
     * two panel vectors and a broadcast in 16 registers. Each output sums its terms in the same order as in the wider
     * tile, so both give the same bits. A twin of {@link #tile} by necessity: a tile's accumulators must be separate
     * locals for C2 to keep them in registers.
     */
    private static void narrowTile(float[] a, int aOff, int lda, int rows, float[] panel, int kc,
                                   float[] c, int cOff, int ldc) {
        int a0 = aOff;
        int a1 = rows > 1 ? a0 + lda : a0;
        int a2 = rows > 2 ? a1 + lda : a1;
        int a3 = rows > 3 ? a2 + lda : a2;
        int a4 = rows > 4 ? a3 + lda : a3;
        int a5 = rows > 5 ? a4 + lda : a4;
        FloatVector c00 = FloatVector.zero(F), c01 = c00;
        FloatVector c10 = c00, c11 = c00;
        FloatVector c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00;
        FloatVector c40 = c00, c41 = c00;
        FloatVector c50 = c00, c51 = c00;
        for (int kk = 0, p = 0; kk < kc; kk++, p += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(F, panel, p);
            FloatVector b1 = FloatVector.fromArray(F, panel, p + L);
            FloatVector av = FloatVector.broadcast(F, a[a0 + kk]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(F, a[a1 + kk]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(F, a[a2 + kk]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(F, a[a3 + kk]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(F, a[a4 + kk]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(F, a[a5 + kk]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        // Written out row by row for the reason given in tile.
        FloatVector.fromArray(F, c, cOff).add(c00).intoArray(c, cOff);
        FloatVector.fromArray(F, c, cOff + L).add(c01).intoArray(c, cOff + L);
        if (rows > 1) {
            int o = cOff + ldc;
            FloatVector.fromArray(F, c, o).add(c10).intoArray(c, o);
            FloatVector.fromArray(F, c, o + L).add(c11).intoArray(c, o + L);
        }
        if (rows > 2) {
            int o = cOff + 2 * ldc;
            FloatVector.fromArray(F, c, o).add(c20).intoArray(c, o);
            FloatVector.fromArray(F, c, o + L).add(c21).intoArray(c, o + L);
        }
        if (rows > 3) {
            int o = cOff + 3 * ldc;
            FloatVector.fromArray(F, c, o).add(c30).intoArray(c, o);
            FloatVector.fromArray(F, c, o + L).add(c31).intoArray(c, o + L);
        }
        if (rows > 4) {
            int o = cOff + 4 * ldc;
            FloatVector.fromArray(F, c, o).add(c40).intoArray(c, o);
            FloatVector.fromArray(F, c, o + L).add(c41).intoArray(c, o + L);
        }
        if (rows > 5) {
            int o = cOff + 5 * ldc;
            FloatVector.fromArray(F, c, o).add(c50).intoArray(c, o);
            FloatVector.fromArray(F, c, o + L).add(c51).intoArray(c, o + L);
        }
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
