package dev.internvl.mesh.compute;

import java.util.List;

/**
 * One product of a call whose products share their input x (a layer's q, k and v; gate and up): its weights, its
 * bias (or null), and where each output row goes: row m's {@code outDim} values start at
 * {@code rowArrays[m][rowStarts[m]]}, so rows may land in separate arrays (each sequence's logits) with no copy.
 */
record ProductTarget(WeightMatrix w, float[] bias, float[][] rowArrays, int[] rowStarts) {

    /** Output rows {@code y[yOff + m * ldy]}, m in {@code [0, rows)}. */
    static ProductTarget strided(WeightMatrix w, float[] bias, float[] y, int yOff, int ldy, int rows) {
        float[][] arrays = new float[rows][];
        int[] starts = new int[rows];
        for (int m = 0; m < rows; m++) {
            arrays[m] = y;
            starts[m] = yOff + m * ldy;
        }
        return new ProductTarget(w, bias, arrays, starts);
    }

    /** The inDim all {@code targets} share, the length of an x row. */
    static int sharedInDim(List<ProductTarget> targets) {
        int k = targets.getFirst().w().inDim();
        for (ProductTarget t : targets) {
            if (t.w().inDim() != k) {
                throw new IllegalArgumentException("products sharing x need one inDim: " + k + " and " + t.w().inDim());
            }
        }
        return k;
    }
}
