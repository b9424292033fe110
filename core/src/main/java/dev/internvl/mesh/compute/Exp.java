package dev.internvl.mesh.compute;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * e<sup>x</sup> in float, the same bits in a vector lane and in scalar code, interpreted or compiled.
 *
 * <p>Why by hand: the Vector API's {@code lanewise(EXP)} is computed by an SVML routine once C2 compiles the loop
 * and by {@code Math.exp} before, and the two differ in the last bit, so a model's logits would depend on how warm
 * the JIT is (measured: a second run of the same prompt differed in most logits). Here only IEEE-exact operations
 * are used (fused multiply-adds, integer bit tricks): round x/ln 2 to n, reduce r = x - n·ln 2 in two parts, a
 * degree-6 polynomial for e<sup>r</sup> on |r| <= ln 2 / 2, then scale by 2<sup>n</sup>. Within 2 ulp of the true
 * value over the float range; results below ~1e-38 are flushed to 0, inputs above 88 saturate at e<sup>88</sup>.
 *
 * <p>In double the same steps with a degree-13 Taylor polynomial, within 2 ulp of the true value: results below
 * e<sup>-708</sup> (subnormal) are flushed to 0, inputs above 709 saturate at e<sup>709</sup>. The sampler weighs
 * a vocabulary with it: {@link StrictMath#exp} gives the same reproducibility across machines but is scalar, about
 * 6 ns a call, and a sampled token takes one or two passes over 151,674 logits.
 */
public final class Exp {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 in two parts: the first has few enough bits that n * LN2_HI is exact for the n that occur. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** Adding then subtracting 1.5 * 2^23 rounds a float of magnitude below 2^22 to the nearest integer. */
    private static final float ROUNDER = 12582912f;
    private static final float MAX_INPUT = 88f;
    private static final float MIN_INPUT = -87.33f;
    /** Taylor-like coefficients of e^r (minimax-adjusted, as in Cephes' expf) for the terms r^2 .. r^7. */
    private static final float C0 = 5.0000001201e-1f;
    private static final float C1 = 1.6666665459e-1f;
    private static final float C2 = 4.1665795894e-2f;
    private static final float C3 = 8.3334519073e-3f;
    private static final float C4 = 1.3981999507e-3f;
    private static final float C5 = 1.9875691500e-4f;

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final double LOG2E_D = 1.4426950408889634;
    /** ln 2 in two parts, fdlibm's: the first has 32 trailing zero bits. */
    private static final double LN2_HI_D = 6.93147180369123816490e-01;
    private static final double LN2_LO_D = 1.90821492927058770002e-10;
    /** 1.5 * 2^52: adding it rounds a double of magnitude below 2^51 to an integer, which its low bits then hold. */
    private static final double ROUNDER_D = 6755399441055744.0;
    private static final long ROUNDER_D_BITS = Double.doubleToRawLongBits(ROUNDER_D);
    private static final double MAX_INPUT_D = 709;
    private static final double MIN_INPUT_D = -708;
    /** 1/k! for k = 13 down to 2: on |r| <= ln 2 / 2 the first term left out, r^14/14!, is below 5e-18. */
    private static final double[] INVERSE_FACTORIALS = {1.0 / 6227020800L, 1.0 / 479001600, 1.0 / 39916800,
            1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5};

    private Exp() {
    }

    public static FloatVector exp(FloatVector x) {
        FloatVector clamped = x.min(MAX_INPUT).max(MIN_INPUT);
        FloatVector n = clamped.fma(FloatVector.broadcast(F, LOG2E), FloatVector.broadcast(F, ROUNDER)).sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), clamped);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(F, C5), FloatVector.broadcast(F, C4));
        p = p.fma(r, FloatVector.broadcast(F, C3));
        p = p.fma(r, FloatVector.broadcast(F, C2));
        p = p.fma(r, FloatVector.broadcast(F, C1));
        p = p.fma(r, FloatVector.broadcast(F, C0));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector exponent = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector scaled = y.mul(exponent.reinterpretAsFloats());
        return scaled.blend(0f, x.compare(VectorOperators.LT, MIN_INPUT));
    }

    public static float exp(float x) {
        if (x < MIN_INPUT) {
            return 0f;
        }
        float clamped = Math.min(x, MAX_INPUT);
        float n = Math.fma(clamped, LOG2E, ROUNDER) - ROUNDER;
        float r = Math.fma(n, -LN2_HI, clamped);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, C5, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, C1);
        p = Math.fma(p, r, C0);
        float y = Math.fma(p, r * r, r) + 1f;
        return y * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    public static DoubleVector expDouble(DoubleVector x) {
        DoubleVector clamped = x.min(MAX_INPUT_D).max(MIN_INPUT_D);
        DoubleVector shifted = clamped.fma(DoubleVector.broadcast(D, LOG2E_D), DoubleVector.broadcast(D, ROUNDER_D));
        DoubleVector n = shifted.sub(ROUNDER_D);
        DoubleVector r = n.fma(DoubleVector.broadcast(D, -LN2_HI_D), clamped);
        r = n.fma(DoubleVector.broadcast(D, -LN2_LO_D), r);
        DoubleVector p = DoubleVector.broadcast(D, INVERSE_FACTORIALS[0]);
        for (int i = 1; i < INVERSE_FACTORIALS.length; i++) {
            p = p.fma(r, DoubleVector.broadcast(D, INVERSE_FACTORIALS[i]));
        }
        DoubleVector y = p.fma(r.mul(r), r).add(1);
        // 2^n from n's bits in the shifted sum (no double-to-long conversion, which AVX2 lacks).
        LongVector exponent = ((LongVector) shifted.viewAsIntegralLanes()).sub(ROUNDER_D_BITS - 1023)
                .lanewise(VectorOperators.LSHL, 52);
        DoubleVector scaled = y.mul(exponent.viewAsFloatingLanes());
        return scaled.blend(0.0, x.compare(VectorOperators.LT, MIN_INPUT_D));
    }

    /** Not an overload of {@code exp}: an int or float argument would pick the float one. */
    public static double expDouble(double x) {
        if (x < MIN_INPUT_D) {
            return 0;
        }
        double clamped = Math.min(x, MAX_INPUT_D);
        double shifted = Math.fma(clamped, LOG2E_D, ROUNDER_D);
        double n = shifted - ROUNDER_D;
        double r = Math.fma(n, -LN2_HI_D, clamped);
        r = Math.fma(n, -LN2_LO_D, r);
        double p = INVERSE_FACTORIALS[0];
        for (int i = 1; i < INVERSE_FACTORIALS.length; i++) {
            p = Math.fma(p, r, INVERSE_FACTORIALS[i]);
        }
        double y = Math.fma(p, r * r, r) + 1;
        return y * Double.longBitsToDouble((Double.doubleToRawLongBits(shifted) - (ROUNDER_D_BITS - 1023)) << 52);
    }
}
