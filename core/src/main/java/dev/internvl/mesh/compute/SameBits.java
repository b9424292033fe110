package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector operations with one fixed result, the same bits whether the code runs interpreted or compiled, built from
 * lane-wise IEEE operations only. The Vector API's own {@code reduceLanes(ADD)} (its order is left open) and
 * {@code lanewise(EXP)} do give different bits compiled and not, so a kernel's first calls could disagree with its
 * later ones, and a row's result would depend on when it ran (alone or in a batch, with a cached prefix or not).
 */
final class SameBits {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Lane i takes lane {@code i ^ h}: constants (not array elements) so the compiler emits plain permutes. */
    private static final VectorShuffle<Float> FOLD_8 = fold(8);
    private static final VectorShuffle<Float> FOLD_4 = fold(4);
    private static final VectorShuffle<Float> FOLD_2 = fold(2);
    private static final VectorShuffle<Float> FOLD_1 = fold(1);

    private static final float LOG2_E = 1.44269504f;
    /** ln 2 split so that {@code k * LN2_HI} is exact for the k that occur. */
    private static final float LN2_HI = 0.693145752f;
    private static final float LN2_LO = 1.42860677e-6f;
    /** 1.5 * 2^23: adding and subtracting it rounds a float below 2^22 to an integer. */
    private static final float ROUNDER = 12582912f;

    /**
     * {@code e^x} on every lane, within 2 ulp for x in [-87, 88] (x is clamped to that range: below, about 1e-38;
     * above, about 1.6e38 where e^x overflows): 2^k times a degree-6 Taylor polynomial of the remainder r,
     * |r| <= ln2 / 2. {@code lanewise(EXP)}'s compiled form gives other bits than its Java one.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87f).min(88f);
        FloatVector k = x.fma(LOG2_E, ROUNDER).sub(ROUNDER);
        FloatVector r = k.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = k.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(1f / 720, 1f / 120);
        p = p.fma(r, FloatVector.broadcast(F, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(F, 0.5f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        FloatVector twoToK = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127)
                .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(twoToK);
    }

    private SameBits() {
    }

    /**
     * The sum of the lanes, by halves: {@code (l0 + l8) + (l4 + l12)}... for 16 lanes (up to 16 lanes). Costs more
     * than {@code reduceLanes}: measured 1.2 against 0.8 ns a sum, and the 16-row exact decode at 115-119 tok/s
     * against 146 (a permute loop over an array of shuffles: 85; narrowing the shape instead: 84).
     */
    static float sum(FloatVector v) {
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

    /** The shuffle {@code i -> i ^ h}, or null where the vectors have no more than h lanes. */
    private static VectorShuffle<Float> fold(int h) {
        return h < L ? VectorShuffle.fromOp(F, i -> i ^ h) : null;
    }
}
