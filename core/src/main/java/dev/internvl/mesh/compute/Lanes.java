package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sum of a vector's lanes in one fixed order.
 *
 * <p>Why not {@code reduceLanes(ADD)}: its order of additions is unspecified and does change, sequential before C2
 * compiles a loop and a tree after, so the same row's norm or softmax differed in the last bit between a cold and
 * a warm run (measured). Here a butterfly of lane-wise adds, each lane i adding lane i xor s for s = L/2 .. 1,
 * leaves the total in every lane, computed the same way interpreted or compiled.
 */
public final class Lanes {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorShuffle<Float>[] BUTTERFLY = butterfly();

    private Lanes() {
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] butterfly() {
        int steps = Integer.numberOfTrailingZeros(F.length());
        VectorShuffle<Float>[] shuffles = new VectorShuffle[steps];
        for (int i = 0; i < steps; i++) {
            int stride = F.length() >> (i + 1);
            shuffles[i] = VectorShuffle.fromOp(F, lane -> lane ^ stride);
        }
        return shuffles;
    }

    public static float sum(FloatVector v) {
        for (VectorShuffle<Float> s : BUTTERFLY) {
            v = v.add(v.rearrange(s));
        }
        return v.lane(0);
    }
}
