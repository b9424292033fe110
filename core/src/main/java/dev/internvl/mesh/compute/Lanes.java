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
    private static final int L = F.length();
    /**
     * Lane i takes lane {@code i ^ h}: one constant each (not elements of an array), so C2 emits plain permutes
     * (measured: exact 16-row decode at 115-119 tok/s against 85 with a loop over an array of shuffles).
     */
    private static final VectorShuffle<Float> FOLD_8 = fold(8);
    private static final VectorShuffle<Float> FOLD_4 = fold(4);
    private static final VectorShuffle<Float> FOLD_2 = fold(2);
    private static final VectorShuffle<Float> FOLD_1 = fold(1);

    private Lanes() {
    }

    /** The shuffle {@code i -> i ^ h}, or null where the vectors have no more than h lanes. */
    private static VectorShuffle<Float> fold(int h) {
        return h < L ? VectorShuffle.fromOp(F, i -> i ^ h) : null;
    }

    public static float sum(FloatVector v) {
        if (L > 16) { // wider than any x86 vector: in lane order, as plainly as it gets
            float total = 0f;
            for (float lane : v.toArray()) {
                total += lane;
            }
            return total;
        }
        if (L >= 16) {
            v = v.add(v.rearrange(FOLD_8));
        }
        if (L >= 8) {
            v = v.add(v.rearrange(FOLD_4));
        }
        if (L >= 4) {
            v = v.add(v.rearrange(FOLD_2));
        }
        if (L >= 2) {
            v = v.add(v.rearrange(FOLD_1));
        }
        return v.lane(0);
    }
}
