package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise activations, in place, vectorised, in fp32. */
public final class Activations {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Elements per parallel task: large enough to hide the hand-off, small enough to balance. */
    private static final int CHUNK = 1 << 14;
    private static final float SQRT_HALF = (float) Math.sqrt(0.5);
    private static final int SIGN_BIT = 0x80000000;

    /*
     * erf(x) in two pieces, with coefficients fitted (weighted least squares on Chebyshev nodes, in 40-digit
     * arithmetic) for this class:
     *   |x| < 1:       erf(x) = x * P(x^2)                      relative error 1.6e-9
     *   |x| >= 1:      erf(x) = 1 - exp(-x^2) * Q(1/|x|)        Q fitted to erfc(x)·exp(x^2) on [1, 4],
     *                                                          relative error of erfc 1.7e-8
     * Beyond 4, exp(-x^2) < 1.2e-7 makes the second term vanish in fp32. Evaluated in fp32 the result is within a
     * few 1e-8 of erf, well inside the 5e-5 the projector goldens allow.
     */
    private static final float P0 = 1.128379167f, P1 = -0.3761262988f, P2 = 0.1128362573f, P3 = -0.02685539945f,
            P4 = 0.005191218377f, P5 = -0.000803484665f, P6 = 7.933493887e-5f;
    private static final float Q0 = 0.000114669296f, Q1 = 0.5618857265f, Q2 = 0.0196039149f, Q3 = -0.3716936207f,
            Q4 = 0.2187654817f, Q5 = 0.2593266143f, Q6 = -0.5615039058f, Q7 = 0.4562140207f, Q8 = -0.1871951536f,
            Q9 = 0.03206583622f;
    /** Past this |x| erf is 1 in fp32; clamping keeps exp(-x^2) away from denormals. */
    private static final float ERF_SATURATION = 6f;

    private Activations() {
    }

    /** Exact (erf) GELU, {@code 0.5 x (1 + erf(x / sqrt 2))}, on {@code x[off .. off+n)}. */
    public static void gelu(ComputePool pool, float[] x, int off, int n) {
        pool.parallelFor(MatMul.ceilDiv(n, CHUNK), task -> {
            int from = off + task * CHUNK;
            int to = Math.min(off + n, from + CHUNK);
            int i = from;
            for (int bound = from + F.loopBound(to - from); i < bound; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                FloatVector e = erf(v.mul(SQRT_HALF));
                v.mul(0.5f).mul(e.add(1f)).intoArray(x, i);
            }
            for (; i < to; i++) {
                x[i] = 0.5f * x[i] * (1f + erf(x[i] * SQRT_HALF));
            }
        });
    }

    /** SwiGLU: {@code gate[i] = silu(gate[i]) * up[i]} with {@code silu(g) = g / (1 + exp(-g))}. */
    public static void siluMul(ComputePool pool, float[] gate, float[] up, int n) {
        pool.parallelFor(MatMul.ceilDiv(n, CHUNK), task -> {
            int from = task * CHUNK;
            int to = Math.min(n, from + CHUNK);
            int i = from;
            for (int bound = from + F.loopBound(to - from); i < bound; i += L) {
                FloatVector g = FloatVector.fromArray(F, gate, i);
                FloatVector denominator = SameBits.exp(g.neg()).add(1f);
                g.div(denominator).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
            }
            for (; i < to; i++) {
                gate[i] = gate[i] / (1f + (float) Math.exp(-gate[i])) * up[i];
            }
        });
    }

    /** erf on every lane (see the note on the coefficients). */
    static FloatVector erf(FloatVector x) {
        FloatVector a = x.abs().min(ERF_SATURATION);
        FloatVector t = a.mul(a);
        FloatVector p = t.fma(P6, P5);
        p = p.fma(t, c(P4));
        p = p.fma(t, c(P3));
        p = p.fma(t, c(P2));
        p = p.fma(t, c(P1));
        p = p.fma(t, c(P0)).mul(a);
        FloatVector u = FloatVector.broadcast(F, 1f).div(a.max(1f));
        FloatVector q = u.fma(Q9, Q8);
        q = q.fma(u, c(Q7));
        q = q.fma(u, c(Q6));
        q = q.fma(u, c(Q5));
        q = q.fma(u, c(Q4));
        q = q.fma(u, c(Q3));
        q = q.fma(u, c(Q2));
        q = q.fma(u, c(Q1));
        q = q.fma(u, c(Q0));
        FloatVector tail = t.neg().lanewise(VectorOperators.EXP).mul(q).neg().add(1f);
        VectorMask<Float> large = a.compare(VectorOperators.GE, 1f);
        FloatVector magnitude = p.blend(tail, large);
        return magnitude.reinterpretAsInts().or(x.reinterpretAsInts().and(SIGN_BIT)).reinterpretAsFloats();
    }

    private static FloatVector c(float v) {
        return FloatVector.broadcast(F, v);
    }

    /** Scalar erf with the same approximation, for loop tails. */
    static float erf(float x) {
        float a = Math.min(Math.abs(x), ERF_SATURATION);
        float r;
        if (a < 1f) {
            float t = a * a;
            r = a * Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(P6, t, P5), t, P4), t, P3), t, P2), t, P1), t, P0);
        } else {
            float u = 1f / a;
            float q = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(
                    Q9, u, Q8), u, Q7), u, Q6), u, Q5), u, Q4), u, Q3), u, Q2), u, Q1), u, Q0);
            r = 1f - (float) Math.exp(-a * a) * q;
        }
        return Math.copySign(r, x);
    }
}
