package dev.internvl.mesh.compute;

import dev.internvl.mesh.checkpoint.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Both matrix-product paths against a naive double-precision reference, on sizes that hit every edge. */
class MatMulTest {
    private static final ComputePool ONE = new ComputePool(1);
    private static final ComputePool TWO = new ComputePool(2);
    private static final ComputePool FIVE = new ComputePool(5);

    @AfterAll
    static void close() {
        ONE.close();
        TWO.close();
        FIVE.close();
    }

    static Stream<Arguments> shapes() {
        List<Arguments> out = new ArrayList<>();
        int[] rows = {1, 2, 3, 4, 5, 7, 17, 33, 50};
        int[][] nk = {{1, 1}, {7, 13}, {67, 130}, {130, 67}, {64, 256}, {65, 300}};
        for (DType dtype : new DType[]{DType.BF16, DType.F16, DType.F32}) {
            for (int m : rows) {
                for (int[] s : nk) {
                    out.add(Arguments.of(dtype, m, s[0], s[1]));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}x{2}x{3}")
    @MethodSource("shapes")
    void weightProductMatchesNaive(DType dtype, int m, int n, int k) {
        Weights w = Weights.random(dtype, n, k, 31L * n + k);
        float[] x = Weights.randomArray(m * k, m);
        float[] bias = Weights.randomArray(n, 7);
        for (ComputePool pool : new ComputePool[]{ONE, TWO, FIVE}) {
            float[] y = new float[m * n];
            MatMul.linear(pool, x, m, w.matrix, bias, y);
            assertClose(naive(x, m, w.values, n, k, bias), y, k);
        }
    }

    static Stream<Arguments> fastShapes() {
        List<Arguments> out = new ArrayList<>();
        for (DType dtype : new DType[]{DType.BF16, DType.F32}) {
            for (int m : new int[]{1, 4, 16, 17, 49, 130}) {
                // 1 x 33: a BF16 weight of 66 bytes, not a whole cache line past its first
                for (int[] s : new int[][]{{67, 130}, {130, 64}, {200, 96}, {1, 33}}) {
                    out.add(Arguments.of(dtype, m, s[0], s[1]));
                }
            }
        }
        return out.stream();
    }

    /** The fast path computes with x rounded to BF16: against the naive product of the rounded x, both kernels. */
    @ParameterizedTest(name = "fast {0} {1}x{2}x{3}")
    @MethodSource("fastShapes")
    void fastPathMatchesNaiveOnBf16RoundedActivations(DType dtype, int m, int n, int k) {
        Weights w = Weights.random(dtype, n, k, 17L * n + k);
        float[] x = Weights.randomArray(m * k, m + 11);
        float[] rounded = x.clone();
        Bf16.roundInPlace(rounded, 0, rounded.length);
        float[] bias = Weights.randomArray(n, 9);
        float[] y0 = Weights.randomArray(m * n, 10);
        float[] want = naive(rounded, m, w.values, n, k, bias);
        for (int i = 0; i < want.length; i++) {
            want[i] += y0[i];
        }
        for (ComputePool pool : new ComputePool[]{ONE, TWO}) {
            float[] y = y0.clone();
            MatMul.matmul(pool, Precision.FAST, x, 0, k, m, w.matrix, bias, y, 0, n, true);
            assertClose(want, y, k);
        }
    }

    /**
     * Products sharing x in one job give the same bits as one call each, on both paths: BF16 weights only (on the
     * fast path from {@code NATIVE_MIN_ROWS} rows, one native job; 200 outputs make two column slices) and mixed
     * with F32 weights.
     */
    @ParameterizedTest(name = "{0} rows, {1}, F32 among them: {2}")
    @MethodSource("sharedInputCases")
    void sharedInputProductsEqualSeparateCalls(int m, Precision precision, boolean mixed) {
        int k = 96;
        List<WeightMatrix> ws = List.of(Weights.random(DType.BF16, 200, k, 1).matrix,
                Weights.random(DType.BF16, 9, k, 2).matrix, Weights.random(mixed ? DType.F32 : DType.BF16, 33, k, 3).matrix);
        List<float[]> biases = java.util.Arrays.asList(Weights.randomArray(200, 4), null, Weights.randomArray(33, 5));
        float[] x = Weights.randomArray(m * k, 6);
        List<float[]> together = List.of(new float[m * 200], new float[m * 9], new float[m * 33]);
        MatMul.linear(TWO, precision, x, m, ws, biases, together);
        for (int i = 0; i < ws.size(); i++) {
            float[] alone = new float[m * ws.get(i).outDim()];
            MatMul.linear(TWO, precision, x, m, ws.get(i), biases.get(i), alone);
            org.junit.jupiter.api.Assertions.assertArrayEquals(alone, together.get(i), "product " + i);
        }
    }

    /** Rows placed in arrays of their own get the same bits as the contiguous product, on every kernel. */
    @ParameterizedTest(name = "{0} rows, {1}")
    @MethodSource("rowPlacementCases")
    void rowsInTheirOwnArraysEqualTheContiguousProduct(int m, Precision precision) {
        int n = 130;
        int k = 96;
        WeightMatrix w = Weights.random(DType.BF16, n, k, 7).matrix;
        float[] bias = Weights.randomArray(n, 8);
        float[] x = Weights.randomArray(m * k, 9);
        float[] contiguous = new float[m * n];
        MatMul.linear(TWO, precision, x, m, w, bias, contiguous);
        float[][] arrays = new float[m][];
        int[] starts = new int[m];
        for (int i = 0; i < m; i++) {
            starts[i] = i % 3; // some rows not at the start of their array
            arrays[i] = new float[starts[i] + n + 1];
        }
        MatMul.linearRows(TWO, precision, x, m, w, bias, arrays, starts);
        for (int i = 0; i < m; i++) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(java.util.Arrays.copyOfRange(contiguous, i * n, (i + 1) * n),
                    java.util.Arrays.copyOfRange(arrays[i], starts[i], starts[i] + n), "row " + i);
            org.junit.jupiter.api.Assertions.assertEquals(0f, arrays[i][starts[i] + n], "past row " + i);
        }
    }

    static Stream<Arguments> rowPlacementCases() {
        List<Arguments> out = new ArrayList<>();
        for (int m : new int[]{1, 3, 16, 60}) {
            for (Precision p : Precision.values()) {
                out.add(Arguments.of(m, p));
            }
        }
        return out.stream();
    }

    /**
     * On the exact path a row's product has the same bits alone as in any batch the row-dot kernel takes (decode
     * batches): the single-row kernel, the four-stream kernel for two to four rows and the widened one for more all
     * sum in one order. BF16 rows of whole blocks (read in place; 300 rows give each task's quarters several rows
     * and a remainder), of a partial block, and F16 rows (widened).
     */
    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("batchInvarianceShapes")
    void rowAloneEqualsRowInBatch(DType dtype, int n, int k) {
        Weights w = Weights.random(dtype, n, k, 5L * n + k);
        int rows = MatMul.ROW_DOT_MAX_ROWS;
        float[] x = Weights.randomArray(rows * k, 21);
        float[] batch = new float[rows * n];
        for (int m = 1; m <= rows; m++) {
            MatMul.linear(TWO, x, m, w.matrix, null, batch);
            for (int i = 0; i < m; i++) {
                float[] alone = new float[n];
                MatMul.linear(TWO, java.util.Arrays.copyOfRange(x, i * k, (i + 1) * k), 1, w.matrix, null, alone);
                org.junit.jupiter.api.Assertions.assertArrayEquals(alone,
                        java.util.Arrays.copyOfRange(batch, i * n, (i + 1) * n), "row " + i + " of " + m);
            }
        }
    }

    /**
     * A single row reads BF16 rows in place from wherever the tensor starts in its file: at every byte offset within
     * a 64-byte line the products have the same bits, and match the naive sums. Rows this long are read in aligned
     * vectors joined in registers where they start on a 4-byte boundary (every lane shift), block by block elsewhere
     * and at the tensor's ends.
     */
    @Test
    void oneRowGivesTheSameBitsAtEveryOffset() {
        int n = 21;
        int k = 4096;
        float[] x = Weights.randomArray(k, 3);
        float[] aligned = null;
        for (int offset = 0; offset < 64; offset++) {
            Weights w = Weights.random(DType.BF16, n, k, 77, offset);
            float[] y = new float[n];
            MatMul.linear(TWO, x, 1, w.matrix, null, y);
            if (aligned == null) {
                aligned = y;
                assertClose(naive(x, 1, w.values, n, k, null), y, k);
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(aligned, y, "data " + offset + " bytes past a line");
        }
    }

    /**
     * On the fast path a single row of long rows reads x packed as BF16, its aligned-vector rows through a kernel of
     * their own and the rest through the one the exact path uses: the same bits as the row in a batch of two (x as
     * BF16 values in fp32), for one matrix and for two sharing the input, wherever the tensor starts in a line.
     */
    @Test
    void fastPathSingleRowMatchesTheRowInABatch() {
        int n = 21;
        int k = 4096;
        float[] x = Weights.randomArray(2 * k, 4);
        float[] first = java.util.Arrays.copyOf(x, k);
        for (int offset : new int[]{0, 2, 4, 8, 22, 48, 62}) {
            Weights w = Weights.random(DType.BF16, n, k, 78, offset);
            float[] batch = new float[2 * n];
            MatMul.linear(TWO, Precision.FAST, x, 2, w.matrix, null, batch);
            float[] want = java.util.Arrays.copyOf(batch, n);
            float[] alone = new float[n];
            MatMul.linear(TWO, Precision.FAST, first, 1, w.matrix, null, alone);
            org.junit.jupiter.api.Assertions.assertArrayEquals(want, alone, "one matrix, " + offset + " bytes past a line");
            float[] a = new float[n];
            float[] b = new float[n];
            MatMul.linear(TWO, Precision.FAST, first, 1, List.of(w.matrix, w.matrix), java.util.Arrays.asList(null, null),
                    List.of(a, b));
            org.junit.jupiter.api.Assertions.assertArrayEquals(want, a, "two matrices, " + offset + " bytes past a line");
            org.junit.jupiter.api.Assertions.assertArrayEquals(want, b, "two matrices, " + offset + " bytes past a line");
        }
    }

    static Stream<Arguments> batchInvarianceShapes() {
        return Stream.of(Arguments.of(DType.BF16, 37, 128), Arguments.of(DType.BF16, 300, 64), Arguments.of(DType.BF16, 6, 96),
                Arguments.of(DType.BF16, 9, 40), Arguments.of(DType.F16, 11, 64));
    }

    static Stream<Arguments> sharedInputCases() {
        List<Arguments> out = new ArrayList<>();
        for (int m : new int[]{1, 3, 16, 60}) {
            for (Precision p : Precision.values()) {
                out.add(Arguments.of(m, p, false));
                out.add(Arguments.of(m, p, true));
            }
        }
        return out.stream();
    }

    /**
     * One row over BF16 weights read in place pairs output rows half the call apart, across the targets' boundaries:
     * every output still gets its own row's dot and bias, the odd one left over too, on 1, 2 and 5 threads, and an
     * accumulating call adds to what is there.
     */
    @Test
    void oneRowPairsOutputsAcrossTargets() {
        int k = 64;
        int[] outDims = {5, 8, 2, 1}; // 16 rows: row i beside row i + 8 crosses from the first target to the second
        for (int total : new int[]{16, 15}) {
            List<Weights> ws = new ArrayList<>();
            List<float[]> biases = new ArrayList<>();
            List<float[]> outs = new ArrayList<>();
            int left = total;
            for (int i = 0; left > 0; i++) {
                int n = Math.min(outDims[i], left);
                left -= n;
                ws.add(Weights.random(DType.BF16, n, k, 40 + i));
                biases.add(i % 2 == 0 ? Weights.randomArray(n, 50 + i) : null);
            }
            float[] x = Weights.randomArray(k, 7);
            for (ComputePool pool : List.of(ONE, TWO, FIVE)) {
                outs.clear();
                for (Weights w : ws) {
                    outs.add(new float[w.matrix.outDim()]);
                }
                MatMul.linear(pool, Precision.EXACT, x, 1, ws.stream().map(w -> w.matrix).toList(), biases, outs);
                for (int t = 0; t < ws.size(); t++) {
                    for (int j = 0; j < ws.get(t).matrix.outDim(); j++) {
                        double want = biases.get(t) == null ? 0 : biases.get(t)[j];
                        for (int i = 0; i < k; i++) {
                            want += (double) x[i] * ws.get(t).values[j * k + i];
                        }
                        assertEquals(want, outs.get(t)[j], 1e-4 * Math.sqrt(k),
                                total + " rows, target " + t + " row " + j);
                    }
                }
            }
        }
        Weights w = Weights.random(DType.BF16, 37, k, 9);
        float[] x = Weights.randomArray(k, 10);
        float[] y = Weights.randomArray(40, 11);
        float[] got = y.clone();
        MatMul.matmul(TWO, x, 0, k, 1, w.matrix, null, got, 2, 37, true);
        for (int j = 0; j < 37; j++) {
            double want = y[2 + j];
            for (int i = 0; i < k; i++) {
                want += (double) x[i] * w.values[j * k + i];
            }
            assertEquals(want, got[2 + j], 1e-4 * Math.sqrt(k), "accumulated row " + j);
        }
    }

    @Test
    void accumulatesIntoStridedOutput() {
        int m = 9, n = 70, k = 40, ldx = 45, ldy = 75;
        Weights w = Weights.random(DType.BF16, n, k, 3);
        float[] x = Weights.randomArray(2 + m * ldx, 4);
        float[] y = Weights.randomArray(3 + m * ldy, 5);
        float[] y0 = y.clone();
        for (int rows : new int[]{2, m}) { // m = 9: streaming; the packed path is covered by the 50-row shapes
            float[] got = y0.clone();
            MatMul.matmul(TWO, x, 2, ldx, rows, w.matrix, null, got, 3, ldy, true);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < n; j++) {
                    double want = y0[3 + r * ldy + j];
                    for (int i = 0; i < k; i++) {
                        want += (double) x[2 + r * ldx + i] * w.values[j * k + i];
                    }
                    assertEquals(want, got[3 + r * ldy + j], 1e-4 * Math.sqrt(k), "row " + r + " col " + j);
                }
                // Columns past n in the strided output are untouched.
                for (int j = n; j < ldy && 3 + r * ldy + j < got.length; j++) {
                    assertEquals(y0[3 + r * ldy + j], got[3 + r * ldy + j]);
                }
            }
        }
    }

    @Test
    void heapOperandsAndLeadingBlock() {
        int m = 11, n = 37, k = 29;
        float[] data = Weights.randomArray(n * k + 5, 9);
        float[] x = Weights.randomArray(m * k, 10);
        // W given as rows of a heap array, and as the transpose of rows (W = Vᵀ).
        MatrixOperand rows = new FloatRows(data, RowLocator.strided(5, k), n, k);
        float[] wT = new float[k * n];
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < k; i++) {
                wT[i * n + j] = data[5 + j * k + i];
            }
        }
        MatrixOperand columns = new FloatColumns(wT, RowLocator.strided(0, n), n, k);
        float[] w = new float[n * k];
        System.arraycopy(data, 5, w, 0, n * k);
        for (MatrixOperand op : new MatrixOperand[]{rows, columns}) {
            float[] y = new float[m * n];
            MatMul.linear(TWO, x, m, op, null, y);
            assertClose(naive(x, m, w, n, k, null), y, k);
            // Only the leading 20 x 17 block of W.
            float[] part = new float[m * 20];
            MatMul.matmul(TWO, x, 0, k, m, op, 20, 17, null, part, 0, 20, false);
            float[] xs = new float[m * 17];
            float[] ws = new float[20 * 17];
            for (int r = 0; r < m; r++) {
                System.arraycopy(x, r * k, xs, r * 17, 17);
            }
            for (int j = 0; j < 20; j++) {
                System.arraycopy(w, j * k, ws, j * 17, 17);
            }
            assertClose(naive(xs, m, ws, 20, 17, null), part, 17);
        }
    }

    /**
     * The packed kernel's two register tiles (four vectors of columns where the CPU has 32 vector registers, two
     * where it has 16) give the same bits, and the product, whichever this machine runs: sizes with a partial
     * strip and a partial row tile, over several panels of depth; the last with tasks that take groups of strips
     * (the narrow last one among them) and pass their rows in several blocks.
     */
    @ParameterizedTest(name = "{0}x{1}x{2}")
    @MethodSource("tileShapes")
    void bothRegisterTilesGiveTheSameProduct(int m, int n, int k) {
        Weights w = Weights.random(DType.BF16, n, k, 5L * n + k);
        float[] x = Weights.randomArray(m * k, m + 3);
        float[] narrow = new float[m * n];
        float[] wide = new float[m * n];
        MatMul.matmulOnTile(TWO, x, m, w.matrix, narrow, 2);
        MatMul.matmulOnTile(TWO, x, m, w.matrix, wide, 4);
        assertClose(naive(x, m, w.values, n, k, null), narrow, k);
        assertArrayEquals(wide, narrow);
    }

    static Stream<Arguments> tileShapes() {
        return Stream.of(Arguments.of(1, 1, 1), Arguments.of(7, 37, 300), Arguments.of(50, 130, 600),
                Arguments.of(64, 64, 256), Arguments.of(200, 1100, 300));
    }

    static float[] naive(float[] x, int m, float[] w, int n, int k, float[] bias) {
        float[] y = new float[m * n];
        for (int r = 0; r < m; r++) {
            for (int j = 0; j < n; j++) {
                double s = bias == null ? 0 : bias[j];
                for (int i = 0; i < k; i++) {
                    s += (double) x[r * k + i] * w[j * k + i];
                }
                y[r * n + j] = (float) s;
            }
        }
        return y;
    }

    static void assertClose(float[] want, float[] got, int k) {
        assertEquals(want.length, got.length);
        double tol = 1e-5 * Math.sqrt(k) * 4;
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs(want[i] - got[i]);
            assertTrue(d <= tol + 1e-6 * Math.abs(want[i]), "element " + i + ": " + got[i] + " vs " + want[i]);
        }
    }
}
