package dev.internvl.mesh.compute;

/**
 * W as the transpose of fp32 rows of a heap array: {@code W[n][k] = data[rows.offset(k) + n]}. Values in attention
 * ({@code p · V}, where V's rows are indexed by the key, the reduction dimension).
 */
public record FloatColumns(float[] data, RowLocator rows, int outDim, int inDim) implements MatrixOperand {
    @Override
    public void packTransposed(int n0, int nCount, int k0, int kCount, float[] panel, int width) {
        for (int kk = 0; kk < kCount; kk++) {
            Elementwise.copy(data, rows.offset(k0 + kk) + n0, panel, kk * width, nCount);
        }
        MatrixOperand.zeroPadColumns(panel, nCount, width, kCount);
    }
}
