package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Small vectorised row operations that the models apply between the heavy kernels. */
public final class Elementwise {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int CHUNK = 1 << 14;

    private Elementwise() {
    }

    /** {@code x[r][c] += scale[c] * y[r][c]} over contiguous {@code [rows, dim]} matrices (layer scale). */
    public static void addScaled(ComputePool pool, float[] x, float[] y, float[] scale, int rows, int dim) {
        int perTask = Math.max(1, CHUNK / dim);
        pool.parallelFor(MatMul.ceilDiv(rows, perTask), task -> {
            int end = Math.min(rows, (task + 1) * perTask);
            for (int r = task * perTask; r < end; r++) {
                int off = r * dim;
                int c = 0;
                for (int bound = F.loopBound(dim); c < bound; c += L) {
                    FloatVector s = FloatVector.fromArray(F, scale, c);
                    FloatVector.fromArray(F, y, off + c).fma(s, FloatVector.fromArray(F, x, off + c)).intoArray(x, off + c);
                }
                for (; c < dim; c++) {
                    x[off + c] += scale[c] * y[off + c];
                }
            }
        });
    }

    /**
     * Copies {@code n} floats. For the short runs of panel packing (a head's 64 values, a block's 16 keys) a vector
     * loop: System.arraycopy's fixed call cost dominates at these lengths.
     */
    public static void copy(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(F, src, srcOff + i).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = src[srcOff + i];
        }
    }

    /** {@code x[i] += y[i]} for {@code i < n}. */
    public static void add(float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(F, x, xOff + i).add(FloatVector.fromArray(F, y, yOff + i)).intoArray(x, xOff + i);
        }
        for (; i < n; i++) {
            x[xOff + i] += y[yOff + i];
        }
    }
}
