package dev.internvl.mesh.compute;

/**
 * W as fp32 rows of a heap array: {@code W[n][k] = data[rows.offset(n) + k]}. Keys in attention ({@code q · Kᵀ}),
 * whether rows of a [tokens, 3C] qkv buffer or slots of a paged KV cache.
 */
public record FloatRows(float[] data, RowLocator rows, int outDim, int inDim) implements MatrixOperand {
    @Override
    public void packTransposed(int n0, int nCount, int k0, int kCount, float[] panel, int width) {
        for (int j = 0; j < nCount; j++) {
            int src = rows.offset(n0 + j) + k0;
            for (int kk = 0, p = j; kk < kCount; kk++, p += width) {
                panel[p] = data[src + kk];
            }
        }
        MatMul.zeroPadColumns(panel, nCount, width, kCount);
    }
}
