package dev.internvl.mesh.compute;

/**
 * The right-hand matrix W of a product {@code y = x · Wᵀ}, with W logically {@code [outDim, inDim]} (a linear
 * layer's weight as stored in a checkpoint). Implementations differ in where the values live (a mapped BF16/F16/F32
 * weight, rows of a heap array, a paged KV cache) and only have to copy blocks of W, widened to fp32, into the
 * panel layout the matrix-product kernel consumes.
 */
public interface MatrixOperand {
    int outDim();

    int inDim();

    /**
     * Writes {@code panel[kk * width + j] = W[n0 + j][k0 + kk]} for {@code kk < kCount}, {@code j < nCount}, and
     * zero for {@code nCount <= j < width}: a {@code kCount x width} block of Wᵀ, row-major.
     */
    void packTransposed(int n0, int nCount, int k0, int kCount, float[] panel, int width);

    /** Zeroes columns {@code [nCount, width)} of a {@code kCount x width} panel (the tail strip of W). */
    static void zeroPadColumns(float[] panel, int nCount, int width, int kCount) {
        if (nCount < width) {
            for (int kk = 0; kk < kCount; kk++) {
                java.util.Arrays.fill(panel, kk * width + nCount, (kk + 1) * width, 0f);
            }
        }
    }
}
