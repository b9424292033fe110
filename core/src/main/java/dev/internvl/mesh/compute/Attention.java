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
     * {@code keyAt(p) + f * blockSize}), values position-major ({@code d} values at {@code valueAt(p)}). Every score
     * and output sums its terms in the order of {@link #attend}'s packed kernel (features in order, for head sizes up
     * to {@link MatMul#KC}; keys in order, in blocks of {@code KC}), so a row gets the same bits on either path.
     */
    public static void attendOnePosition(float[] q, int qOff, int rows, int d, float[] keys, RowLocator keyAt,
                                         int blockSize, float[] values, RowLocator valueAt, int keyCount, float scale,
                                         float[] out, int outOff) {
        // Score rows padded to whole vectors: the last block's unused slots are scored too (a block always has
        // room for them) and ignored.
        int lds = MatMul.ceilDiv(keyCount, L) * L;
        float[] scores = scratch(rows * lds);
        for (int r0 = 0; r0 < rows; r0 += 4) {
            int n = Math.min(4, rows - r0);
            for (int p = 0; p < keyCount; ) {
                int slot = p % blockSize;
                int run = Math.min(blockSize - slot, keyCount - p);
                int at = keyAt.offset(p);
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
        int[] valueOffsets = new int[keyCount]; // looked up once, not once per row
        for (int p = 0; p < keyCount; p++) {
            valueOffsets[p] = valueAt.offset(p);
        }
        for (int r = 0; r < rows; r++) {
            softmax(scores, r * lds, keyCount, keyCount, scale);
            weightedValues(scores, r * lds, keyCount, values, valueOffsets, d, out, outOff + r * d);
        }
    }

    /**
     * Scores of up to four query rows (stride d from {@code qOff}; missing rows repeat the last, their results
     * dropped) against L consecutive positions of one key block: {@code scores[sOff + r * lds + j]}.
     */
    private static void scoreLanes(float[] q, int qOff, int d, int rows, float[] keys, int at, int blockSize,
                                   float[] scores, int sOff, int lds) {
        int q0 = qOff;
        int q1 = rows > 1 ? q0 + d : q0;
        int q2 = rows > 2 ? q1 + d : q1;
        int q3 = rows > 3 ? q2 + d : q2;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int f = 0; f < d; f++) {
            FloatVector k = FloatVector.fromArray(F, keys, at + f * blockSize);
            s0 = FloatVector.broadcast(F, q[q0 + f]).fma(k, s0);
            s1 = FloatVector.broadcast(F, q[q1 + f]).fma(k, s1);
            s2 = FloatVector.broadcast(F, q[q2 + f]).fma(k, s2);
            s3 = FloatVector.broadcast(F, q[q3 + f]).fma(k, s3);
        }
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
    }

    /**
     * {@code out[outOff + c] = Σ_j p[pOff + j] · V[j][c]} for c < d, V's row j at {@code values[valueAt[j]]}, summed
     * like the packed kernel's P · V.
     */
    private static void weightedValues(float[] p, int pOff, int keyCount, float[] values, int[] valueAt, int d,
                                       float[] out, int outOff) {
        Arrays.fill(out, outOff, outOff + d, 0f);
        for (int k0 = 0; k0 < keyCount; k0 += MatMul.KC) {
            int k1 = Math.min(keyCount, k0 + MatMul.KC);
            int c = 0;
            for (; c + 4 * L <= d; c += 4 * L) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                for (int j = k0; j < k1; j++) {
                    FloatVector pj = FloatVector.broadcast(F, p[pOff + j]);
                    int v = valueAt[j] + c;
                    a0 = pj.fma(FloatVector.fromArray(F, values, v), a0);
                    a1 = pj.fma(FloatVector.fromArray(F, values, v + L), a1);
                    a2 = pj.fma(FloatVector.fromArray(F, values, v + 2 * L), a2);
                    a3 = pj.fma(FloatVector.fromArray(F, values, v + 3 * L), a3);
                }
                int o = outOff + c;
                FloatVector.fromArray(F, out, o).add(a0).intoArray(out, o);
                FloatVector.fromArray(F, out, o + L).add(a1).intoArray(out, o + L);
                FloatVector.fromArray(F, out, o + 2 * L).add(a2).intoArray(out, o + 2 * L);
                FloatVector.fromArray(F, out, o + 3 * L).add(a3).intoArray(out, o + 3 * L);
            }
            for (; c < d; c++) {
                float a = 0f;
                for (int j = k0; j < k1; j++) {
                    a = Math.fma(p[pOff + j], values[valueAt[j] + c], a);
                }
                out[outOff + c] += a;
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
