package dev.internvl.mesh.model.llm;

import dev.internvl.mesh.compute.Elementwise;
import dev.internvl.mesh.compute.MatrixOperand;

/**
 * The cached keys of one KV head of one sequence, as the matrix {@code K [keyCount, headDim]} of {@code q · Kᵀ}.
 * Keys are stored feature-major within a block, so a panel row (one dimension, consecutive positions) is copied a
 * block-long run at a time instead of being gathered element by element.
 */
record PagedKeys(float[] keys, KvStorage storage, int[] blockTable, int firstFeature, int outDim, int inDim) implements MatrixOperand {
    @Override
    public void packTransposed(int n0, int nCount, int k0, int kCount, float[] panel, int width) {
        int bs = storage.blockSize();
        for (int j = 0; j < nCount; ) {
            int position = n0 + j;
            int run = Math.min(bs - position % bs, nCount - j);
            int src = storage.keyOffset(blockTable, position) + (firstFeature + k0) * bs;
            for (int kk = 0; kk < kCount; kk++) {
                Elementwise.copy(keys, src + kk * bs, panel, kk * width + j, run);
            }
            j += run;
        }
        MatrixOperand.zeroPadColumns(panel, nCount, width, kCount);
    }
}
