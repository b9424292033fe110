package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Kernels give the same bits on their first call (interpreted) as after thousands (compiled by C2): the prefix
 * cache and every "identical output" promise depend on it. Vector API reductions and EXP do not keep it; see
 * {@link Lanes} and {@link Exp}.
 */
class WarmUpInvarianceTest {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    @Test
    void normsSoftmaxAndActivationsDoNotDependOnHowWarmTheJitIs() {
        try (ComputePool pool = new ComputePool(2)) {
            Random r = new Random(3);
            int rows = 8;
            int k = 200;
            float[] x = new float[rows * k];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian() * (i % 7 == 0 ? 30 : 1);
            }
            float[] weight = new float[k];
            Arrays.fill(weight, 1.25f);
            float[][] cold = kernels(pool, x, weight, rows, k);
            for (int i = 0; i < 3000; i++) {
                kernels(pool, x, weight, rows, k);
            }
            float[][] warm = kernels(pool, x, weight, rows, k);
            for (int i = 0; i < cold.length; i++) {
                assertArrayEquals(cold[i], warm[i], "kernel " + i);
            }
        }
    }

    private static float[][] kernels(ComputePool pool, float[] x, float[] weight, int rows, int k) {
        float[] normed = new float[rows * k];
        Norms.rmsNorm(pool, x, rows, k, weight, 1e-6f, normed);
        float[] gate = x.clone();
        Activations.siluMul(pool, gate, x.clone(), gate.length);
        float[] gelu = x.clone();
        Activations.gelu(pool, gelu, 0, gelu.length);
        float[] attention = new float[rows * 40];
        Attention.attend(pool, x, 0, 40, rows, new FloatRows(x, i -> i * 40, 30, 40), new FloatColumns(x, i -> i * 40, 40, 30),
                30, q -> 30, 0.15f, attention, 0, 40);
        return new float[][]{normed, gate, gelu, attention};
    }

    @Test
    void expIsWithinTwoUlpAndTheSameInLanesAndScalars() {
        float[] in = new float[SPECIES.length() * 64];
        Random r = new Random(5);
        for (int i = 0; i < in.length; i++) {
            in[i] = (float) (r.nextDouble() * 170 - 86);
        }
        float[] lanes = new float[in.length];
        for (int i = 0; i < in.length; i += SPECIES.length()) {
            Exp.exp(FloatVector.fromArray(SPECIES, in, i)).intoArray(lanes, i);
        }
        for (int i = 0; i < in.length; i++) {
            float scalar = Exp.exp(in[i]);
            assertEquals(Float.floatToIntBits(scalar), Float.floatToIntBits(lanes[i]), "lane and scalar differ at " + in[i]);
            double exact = Math.exp(in[i]);
            double ulp = Math.ulp((float) exact);
            assertEquals(exact, scalar, 2 * ulp, "exp(" + in[i] + ")");
        }
        assertEquals(0f, Exp.exp(-100f));
        assertEquals(1f, Exp.exp(0f));
    }
}
