package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * Scaled dot-product attention for the query rows of one head (or of the query heads that share one KV head,
 * stacked): {@code out_i = softmax(scale * q_i · Kᵀ) · V}, where row i sees only its first {@code visibleKeys(i)}
 * keys (a causal mask) or all of them. Scores are materialised a tile of query rows at a time, so both products
 * run on the packed matrix kernel and the softmax is the exact two-pass one, as in the reference.
 */
public final class Attention {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Query rows per score tile (a multiple of the kernel's row tile). */
    public static final int QUERY_TILE = 32 * MatMul.MR;

    private static final ThreadLocal<float[]> SCORES = ThreadLocal.withInitial(() -> new float[0]);

    /** Lines of the next key block read ahead of scoring it (see {@link #touchBlock}). */
    private static final int TOUCH_LINES = 4;
    /** Where the read-ahead values go; nothing reads it. */
    private static float touchedSum;

    private Attention() {
    }

    /**
     * @param q           query row i at {@code q[qOff + i * ldq]}, {@code D = keys.inDim()} values
     * @param keys        K as a matrix {@code [keyCount, D]}
     * @param values      Vᵀ as a matrix {@code [D, keyCount]} (see {@link FloatColumns})
     * @param visibleKeys keys row i attends to (a prefix of the keys); null for all {@code keyCount}
     * @param out         output row i at {@code out[outOff + i * ldo]}
     */
    public static void attend(ComputePool pool, float[] q, int qOff, int ldq, int rows, MatrixOperand keys,
                              MatrixOperand values, int keyCount, IntUnaryOperator visibleKeys, float scale,
                              float[] out, int outOff, int ldo) {
        int d = keys.inDim();
        for (int r0 = 0; r0 < rows; r0 += QUERY_TILE) {
            int tileRows = Math.min(QUERY_TILE, rows - r0);
            int nKeys = keyCount;
            if (visibleKeys != null) {
                nKeys = 0;
                for (int i = 0; i < tileRows; i++) {
                    nKeys = Math.max(nKeys, visibleKeys.applyAsInt(r0 + i));
                }
            }
            float[] scores = scratch(tileRows * nKeys);
            MatMul.matmul(pool, q, qOff + r0 * ldq, ldq, tileRows, keys, nKeys, d, null, scores, 0, nKeys, false);
            for (int i = 0; i < tileRows; i++) {
                int visible = visibleKeys == null ? nKeys : visibleKeys.applyAsInt(r0 + i);
                softmax(scores, i * nKeys, visible, nKeys, scale);
            }
            MatMul.matmul(pool, scores, 0, nKeys, tileRows, values, d, nKeys, null, out, outOff + r0 * ldo, ldo, false);
        }
    }

    /**
     * Attention of the query rows of one new position (the query heads that share a KV head, row r at
     * {@code q[qOff + r * d]}) over the first {@code keyCount} positions of a paged cache, read in place: a decode
     * step's handful of rows would spend more on packing the keys and values into panels than on the products.
     * Keys are feature-major within blocks of {@code blockSize} positions (feature f of position p at
     * {@code keyAt(p) + f * blockSize}), values position-major ({@code d} values at {@code valueAt(p)}, the
     * positions of one block {@code valueStride} apart). Every score and output sums its terms in the order of
     * {@link #attend}'s packed kernel (features in order, for head sizes up to {@link MatMul#KC}; keys in order, in
     * blocks of {@code KC}), so a row gets the same bits on either path.
     */
    public static void attendOnePosition(float[] q, int qOff, int rows, int d, float[] keys, RowLocator keyAt,
                                         int blockSize, float[] values, RowLocator valueAt, int valueStride,
                                         int keyCount, float scale, float[] out, int outOff) {
        // Score rows padded to whole vectors: the last block's unused slots are scored too (a block always has
        // room for them) and ignored.
        int lds = MatMul.ceilDiv(keyCount, L) * L;
        float[] scores = scratch(rows * lds);
        float touched = 0;
        for (int r0 = 0; r0 < rows; r0 += SCORE_ROWS) {
            int n = Math.min(SCORE_ROWS, rows - r0);
            for (int p = 0; p < keyCount; ) {
                int slot = p % blockSize;
                int run = Math.min(blockSize - slot, keyCount - p);
                int at = keyAt.offset(p);
                if (p + run < keyCount) {
                    touched += touchBlock(keys, keyAt.offset(p + run), blockSize, d);
                }
                int j = 0;
                for (; j < run && slot + j + L <= blockSize; j += L) {
                    scoreLanes(q, qOff + r0 * d, d, n, keys, at + j, blockSize, scores, r0 * lds + p + j, lds);
                }
                for (; j < run; j++) {
                    for (int r = r0; r < r0 + n; r++) {
                        float sum = 0f;
                        for (int f = 0; f < d; f++) {
                            sum = Math.fma(q[qOff + r * d + f], keys[at + j + f * blockSize], sum);
                        }
                        scores[r * lds + p + j] = sum;
                    }
                }
                p += run;
            }
        }
        touchedSum = touched; // stored, so the JIT keeps the reads
        int[] valueOffsets = new int[keyCount]; // looked up once a block, not once a position and row
        for (int p = 0; p < keyCount; ) {
            int run = Math.min(blockSize - p % blockSize, keyCount - p);
            int at = valueAt.offset(p);
            for (int j = 0; j < run; j++) {
                valueOffsets[p + j] = at + j * valueStride;
            }
            p += run;
        }
        for (int r = 0; r < rows; r++) {
            softmax(scores, r * lds, keyCount, keyCount, scale);
        }
        for (int r0 = 0; r0 < rows; r0 += VALUE_ROWS) {
            weightedValues(scores, r0 * lds, lds, Math.min(VALUE_ROWS, rows - r0), keyCount, values, valueOffsets, d,
                    out, outOff + r0 * d);
        }
    }

    /**
     * Reads the first {@link #TOUCH_LINES} features of the key block at {@code at}, one cache line each at 16
     * positions a block, so that the memory system is already fetching the block while the one before is scored:
     * the blocks of a paged cache lie anywhere, and the hardware prefetcher only follows a block after missing on
     * it (Java has no prefetch instruction). Decode of 4 sequences after 3328-token prompts: +4.6% and +6.7% (medians
     * of two runs alternating with and without, one process each).
     */
    private static float touchBlock(float[] keys, int at, int blockSize, int d) {
        float sum = 0f;
        for (int f = 0; f < Math.min(TOUCH_LINES, d); f++) {
            sum += keys[at + f * blockSize];
        }
        return sum;
    }

    /**
     * Query rows per pass over the keys: a key vector is loaded once for all of them, and their sums are that many
     * independent FMA chains (a group of query heads sharing a KV head has 5 to 8 rows in InternVL 2.5's models).
     */
    private static final int SCORE_ROWS = 8;
    /** Query rows per pass over the values: 4 rows of 4 vectors of output are 16 accumulators. */
    private static final int VALUE_ROWS = 4;

    /**
     * Scores of up to {@link #SCORE_ROWS} query rows (stride d from {@code qOff}; missing rows repeat the last, their
     * results dropped) against L consecutive positions of one key block: {@code scores[sOff + r * lds + j]}.
     */
    private static void scoreLanes(float[] q, int qOff, int d, int rows, float[] keys, int at, int blockSize,
                                   float[] scores, int sOff, int lds) {
        int q0 = qOff;
        int q1 = rows > 1 ? q0 + d : q0;
        int q2 = rows > 2 ? q1 + d : q1;
        int q3 = rows > 3 ? q2 + d : q2;
        int q4 = rows > 4 ? q3 + d : q3;
        int q5 = rows > 5 ? q4 + d : q4;
        int q6 = rows > 6 ? q5 + d : q5;
        int q7 = rows > 7 ? q6 + d : q6;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        for (int f = 0; f < d; f++) {
            FloatVector k = FloatVector.fromArray(F, keys, at + f * blockSize);
            s0 = FloatVector.broadcast(F, q[q0 + f]).fma(k, s0);
            s1 = FloatVector.broadcast(F, q[q1 + f]).fma(k, s1);
            s2 = FloatVector.broadcast(F, q[q2 + f]).fma(k, s2);
            s3 = FloatVector.broadcast(F, q[q3 + f]).fma(k, s3);
            s4 = FloatVector.broadcast(F, q[q4 + f]).fma(k, s4);
            s5 = FloatVector.broadcast(F, q[q5 + f]).fma(k, s5);
            s6 = FloatVector.broadcast(F, q[q6 + f]).fma(k, s6);
            s7 = FloatVector.broadcast(F, q[q7 + f]).fma(k, s7);
        }
        // One store per row there is (an array of the sums would box the vectors).
        s0.intoArray(scores, sOff);
        if (rows > 1) {
            s1.intoArray(scores, sOff + lds);
        }
        if (rows > 2) {
            s2.intoArray(scores, sOff + 2 * lds);
        }
        if (rows > 3) {
            s3.intoArray(scores, sOff + 3 * lds);
        }
        if (rows > 4) {
            s4.intoArray(scores, sOff + 4 * lds);
        }
        if (rows > 5) {
            s5.intoArray(scores, sOff + 5 * lds);
        }
        if (rows > 6) {
            s6.intoArray(scores, sOff + 6 * lds);
        }
        if (rows > 7) {
            s7.intoArray(scores, sOff + 7 * lds);
        }
    }

    /**
     * {@code out[outOff + r * d + c] = Σ_j p[pOff + r * lds + j] · V[j][c]} for c < d and up to {@link #VALUE_ROWS}
     * rows r (missing rows repeat the last, their results dropped), V's row j at {@code values[valueAt[j]]}: each
     * value vector is loaded once for all the rows. Every row sums like the packed kernel's P · V.
     */
    private static void weightedValues(float[] p, int pOff, int lds, int rows, int keyCount, float[] values,
                                       int[] valueAt, int d, float[] out, int outOff) {
        int p0 = pOff;
        int p1 = rows > 1 ? p0 + lds : p0;
        int p2 = rows > 2 ? p1 + lds : p1;
        int p3 = rows > 3 ? p2 + lds : p2;
        Arrays.fill(out, outOff, outOff + rows * d, 0f);
        for (int k0 = 0; k0 < keyCount; k0 += MatMul.KC) {
            int k1 = Math.min(keyCount, k0 + MatMul.KC);
            int c = 0;
            for (; c + 4 * L <= d; c += 4 * L) {
                FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
                FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
                FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
                FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
                for (int j = k0; j < k1; j++) {
                    int v = valueAt[j] + c;
                    FloatVector v0 = FloatVector.fromArray(F, values, v);
                    FloatVector v1 = FloatVector.fromArray(F, values, v + L);
                    FloatVector v2 = FloatVector.fromArray(F, values, v + 2 * L);
                    FloatVector v3 = FloatVector.fromArray(F, values, v + 3 * L);
                    FloatVector pj = FloatVector.broadcast(F, p[p0 + j]);
                    a00 = pj.fma(v0, a00);
                    a01 = pj.fma(v1, a01);
                    a02 = pj.fma(v2, a02);
                    a03 = pj.fma(v3, a03);
                    pj = FloatVector.broadcast(F, p[p1 + j]);
                    a10 = pj.fma(v0, a10);
                    a11 = pj.fma(v1, a11);
                    a12 = pj.fma(v2, a12);
                    a13 = pj.fma(v3, a13);
                    pj = FloatVector.broadcast(F, p[p2 + j]);
                    a20 = pj.fma(v0, a20);
                    a21 = pj.fma(v1, a21);
                    a22 = pj.fma(v2, a22);
                    a23 = pj.fma(v3, a23);
                    pj = FloatVector.broadcast(F, p[p3 + j]);
                    a30 = pj.fma(v0, a30);
                    a31 = pj.fma(v1, a31);
                    a32 = pj.fma(v2, a32);
                    a33 = pj.fma(v3, a33);
                }
                // Spelled out: a helper taking the vectors, were C2 not to inline it, would box them (in the loop too).
                int o = outOff + c;
                FloatVector.fromArray(F, out, o).add(a00).intoArray(out, o);
                FloatVector.fromArray(F, out, o + L).add(a01).intoArray(out, o + L);
                FloatVector.fromArray(F, out, o + 2 * L).add(a02).intoArray(out, o + 2 * L);
                FloatVector.fromArray(F, out, o + 3 * L).add(a03).intoArray(out, o + 3 * L);
                if (rows > 1) {
                    FloatVector.fromArray(F, out, o + d).add(a10).intoArray(out, o + d);
                    FloatVector.fromArray(F, out, o + d + L).add(a11).intoArray(out, o + d + L);
                    FloatVector.fromArray(F, out, o + d + 2 * L).add(a12).intoArray(out, o + d + 2 * L);
                    FloatVector.fromArray(F, out, o + d + 3 * L).add(a13).intoArray(out, o + d + 3 * L);
                }
                if (rows > 2) {
                    FloatVector.fromArray(F, out, o + 2 * d).add(a20).intoArray(out, o + 2 * d);
                    FloatVector.fromArray(F, out, o + 2 * d + L).add(a21).intoArray(out, o + 2 * d + L);
                    FloatVector.fromArray(F, out, o + 2 * d + 2 * L).add(a22).intoArray(out, o + 2 * d + 2 * L);
                    FloatVector.fromArray(F, out, o + 2 * d + 3 * L).add(a23).intoArray(out, o + 2 * d + 3 * L);
                }
                if (rows > 3) {
                    FloatVector.fromArray(F, out, o + 3 * d).add(a30).intoArray(out, o + 3 * d);
                    FloatVector.fromArray(F, out, o + 3 * d + L).add(a31).intoArray(out, o + 3 * d + L);
                    FloatVector.fromArray(F, out, o + 3 * d + 2 * L).add(a32).intoArray(out, o + 3 * d + 2 * L);
                    FloatVector.fromArray(F, out, o + 3 * d + 3 * L).add(a33).intoArray(out, o + 3 * d + 3 * L);
                }
            }
            for (; c < d; c++) {
                for (int r = 0; r < rows; r++) {
                    float a = 0f;
                    for (int j = k0; j < k1; j++) {
                        a = Math.fma(p[pOff + r * lds + j], values[valueAt[j] + c], a);
                    }
                    out[outOff + r * d + c] += a;
                }
            }
        }
    }

    /**
     * In place over {@code s[off .. off+width)}: the first {@code visible} entries become
     * {@code softmax(scale * s)}, the rest 0.
     */
    static void softmax(float[] s, int off, int visible, int width, float scale) {
        float max = Float.NEGATIVE_INFINITY;
        int i = 0;
        FloatVector maxV = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int bound = F.loopBound(visible); i < bound; i += L) {
            maxV = maxV.max(FloatVector.fromArray(F, s, off + i));
        }
        max = Math.max(max, maxV.reduceLanes(VectorOperators.MAX));
        for (; i < visible; i++) {
            max = Math.max(max, s[off + i]);
        }
        float shift = max * scale;
        FloatVector sumV = FloatVector.zero(F);
        i = 0;
        for (int bound = F.loopBound(visible); i < bound; i += L) {
            FloatVector e = Exp.exp(FloatVector.fromArray(F, s, off + i).mul(scale).sub(shift));
            e.intoArray(s, off + i);
            sumV = sumV.add(e);
        }
        float sum = Lanes.sum(sumV);
        for (; i < visible; i++) {
            float e = Exp.exp(s[off + i] * scale - shift);
            s[off + i] = e;
            sum += e;
        }
        float inverse = 1f / sum;
        i = 0;
        for (int bound = F.loopBound(visible); i < bound; i += L) {
            FloatVector.fromArray(F, s, off + i).mul(inverse).intoArray(s, off + i);
        }
        for (; i < visible; i++) {
            s[off + i] *= inverse;
        }
        Arrays.fill(s, off + visible, off + width, 0f);
    }

    private static float[] scratch(int size) {
        float[] b = SCORES.get();
        if (b.length < size) {
            b = new float[size];
            SCORES.set(b);
        }
        return b;
    }
}
