package dev.internvl.mesh.compute;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The double exp the sampler weighs tokens with: close to the true value, and the same bits in a vector lane as in
 * scalar code (the sampler sums a block's weights in vectors and walks the block for its draw in scalar code).
 */
class ExpTest {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;

    private static double[] inputs() {
        Random r = new Random(17);
        double[] x = new double[40_000];
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (i % 4) {
                case 0 -> (r.nextDouble() - 0.5) * 1416; // the whole range
                case 1 -> -r.nextDouble() * 40; // the weights that matter
                case 2 -> (r.nextDouble() - 0.5) * 1e-6; // near 0
                default -> Math.round(r.nextGaussian() * 50) * Math.log(2) + (r.nextDouble() - 0.5) * 1e-9; // near n ln 2
            };
        }
        double[] edges = {0, -0.0, 1, -1, 709, -708, 708.5, -707.9, Math.log(2) / 2, -Math.log(2) / 2};
        System.arraycopy(edges, 0, x, 0, edges.length);
        return x;
    }

    @Test
    void doubleExpIsWithinTwoUlpOfTheTrueValue() {
        for (double x : inputs()) {
            double expected = StrictMath.exp(x);
            assertTrue(Math.abs(Exp.expDouble(x) - expected) <= 2 * Math.ulp(expected),
                    () -> "exp(" + x + ") = " + Exp.expDouble(x) + ", not " + expected);
        }
    }

    @Test
    void doubleExpFlushesSubnormalResultsAndSaturates() {
        assertEquals(0.0, Exp.expDouble(-708.5));
        assertEquals(0.0, Exp.expDouble(Double.NEGATIVE_INFINITY));
        assertEquals(Exp.expDouble(709), Exp.expDouble(1e6));
        assertEquals(1.0, Exp.expDouble(0));
    }

    @Test
    void doubleExpHasTheSameBitsInVectorsAsInScalarCode() {
        double[] x = inputs();
        x[11] = -708.5;
        x[12] = Double.NEGATIVE_INFINITY;
        x[13] = 1e6;
        double[] lanes = new double[x.length];
        int i = 0;
        for (int bound = D.loopBound(x.length); i < bound; i += D.length()) {
            Exp.expDouble(DoubleVector.fromArray(D, x, i)).intoArray(lanes, i);
        }
        for (int j = 0; j < i; j++) {
            assertEquals(Double.doubleToRawLongBits(Exp.expDouble(x[j])), Double.doubleToRawLongBits(lanes[j]),
                    "exp(" + x[j] + ")");
        }
    }
}
