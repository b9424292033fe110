package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * W as fp32 rows of a heap array: {@code W[n][k] = data[rows.offset(n) + k]}. Keys in attention ({@code q · Kᵀ}),
 * whether rows of a [tokens, 3C] qkv buffer or slots of a paged KV cache.
 */
public record FloatRows(float[] data, RowLocator rows, int outDim, int inDim) implements MatrixOperand {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Override
    public void packTransposed(int n0, int nCount, int k0, int kCount, float[] panel, int width) {
        // L rows at a time: each panel row (one k across L rows of W) is a single gather.
        int lanes = F.length();
        int[] starts = new int[lanes];
        int j0 = 0;
        for (; j0 + lanes <= nCount; j0 += lanes) {
            for (int j = 0; j < lanes; j++) {
                starts[j] = rows.offset(n0 + j0 + j) + k0;
            }
            for (int kk = 0; kk < kCount; kk++) {
                FloatVector.fromArray(F, data, kk, starts, 0).intoArray(panel, kk * width + j0);
            }
        }
        for (int j = j0; j < nCount; j++) {
            int src = rows.offset(n0 + j) + k0;
            for (int kk = 0, p = j; kk < kCount; kk++, p += width) {
                panel[p] = data[src + kk];
            }
        }
        MatrixOperand.zeroPadColumns(panel, nCount, width, kCount);
    }
}
