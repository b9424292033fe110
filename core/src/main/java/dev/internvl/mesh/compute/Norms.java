package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row-wise normalisations over {@code rows} vectors of {@code dim} values, fp32 throughout. Row {@code r} is read
 * at {@code x[xOff + r * ldx]} and written at {@code out[outOff + r * ldo]}; in place is allowed.
 */
public final class Norms {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int CHUNK = 1 << 14;

    private Norms() {
    }

    /** RMSNorm: {@code out = x / sqrt(mean(x^2) + eps) * weight}. */
    public static void rmsNorm(ComputePool pool, float[] x, int xOff, int ldx, int rows, int dim, float[] weight,
                               float eps, float[] out, int outOff, int ldo) {
        forRows(pool, rows, dim, r -> {
            int in = xOff + r * ldx;
            float scale = (float) (1.0 / Math.sqrt(sumOfSquares(x, in, dim, 0f) / dim + eps));
            scaleShift(x, in, dim, 0f, scale, weight, null, out, outOff + r * ldo);
        });
    }

    /** RMSNorm of contiguous rows. */
    public static void rmsNorm(ComputePool pool, float[] x, int rows, int dim, float[] weight, float eps, float[] out) {
        rmsNorm(pool, x, 0, dim, rows, dim, weight, eps, out, 0, dim);
    }

    /** LayerNorm (biased variance): {@code out = (x - mean) / sqrt(var + eps) * weight + bias}. */
    public static void layerNorm(ComputePool pool, float[] x, int xOff, int ldx, int rows, int dim, float[] weight,
                                 float[] bias, float eps, float[] out, int outOff, int ldo) {
        forRows(pool, rows, dim, r -> {
            int in = xOff + r * ldx;
            float mean = sum(x, in, dim) / dim;
            float variance = sumOfSquares(x, in, dim, mean) / dim;
            float scale = (float) (1.0 / Math.sqrt(variance + eps));
            scaleShift(x, in, dim, mean, scale, weight, bias, out, outOff + r * ldo);
        });
    }

    /** LayerNorm of contiguous rows. */
    public static void layerNorm(ComputePool pool, float[] x, int rows, int dim, float[] weight, float[] bias,
                                 float eps, float[] out) {
        layerNorm(pool, x, 0, dim, rows, dim, weight, bias, eps, out, 0, dim);
    }

    private static void forRows(ComputePool pool, int rows, int dim, java.util.function.IntConsumer row) {
        int perTask = Math.max(1, CHUNK / Math.max(1, dim));
        pool.parallelFor(MatMul.ceilDiv(rows, perTask), task -> {
            int end = Math.min(rows, (task + 1) * perTask);
            for (int r = task * perTask; r < end; r++) {
                row.accept(r);
            }
        });
    }

    private static float sum(float[] x, int off, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            acc = acc.add(FloatVector.fromArray(F, x, off + i));
        }
        float s = SameBits.sum(acc);
        for (; i < n; i++) {
            s += x[off + i];
        }
        return s;
    }

    /** {@code sum((x - center)^2)}. */
    private static float sumOfSquares(float[] x, int off, int n, float center) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector d = FloatVector.fromArray(F, x, off + i).sub(center);
            acc = d.fma(d, acc);
        }
        float s = SameBits.sum(acc);
        for (; i < n; i++) {
            float d = x[off + i] - center;
            s += d * d;
        }
        return s;
    }

    /** {@code out = (x - center) * scale * weight (+ bias)}. */
    private static void scaleShift(float[] x, int off, int n, float center, float scale, float[] weight, float[] bias,
                                   float[] out, int outOff) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, off + i).sub(center).mul(scale).mul(FloatVector.fromArray(F, weight, i));
            if (bias != null) {
                v = v.add(FloatVector.fromArray(F, bias, i));
            }
            v.intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            float v = (x[off + i] - center) * scale * weight[i];
            out[outOff + i] = bias != null ? v + bias[i] : v;
        }
    }
}
