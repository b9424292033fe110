package dev.internvl.mesh.compute;

import java.util.List;

/**
 * One product of a call whose products share their input x (a layer's q, k and v; gate and up): its weights, bias
 * (or null) and output rows {@code y[yOff + m * ldy]}.
 */
record ProductTarget(WeightMatrix w, float[] bias, float[] y, int yOff, int ldy) {

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
