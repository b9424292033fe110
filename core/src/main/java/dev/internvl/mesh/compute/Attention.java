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
            FloatVector e = SameBits.exp(FloatVector.fromArray(F, s, off + i).mul(scale).sub(shift));
            e.intoArray(s, off + i);
            sumV = sumV.add(e);
        }
        float sum = SameBits.sum(sumV);
        for (; i < visible; i++) {
            float e = (float) Math.exp(s[off + i] * scale - shift);
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
