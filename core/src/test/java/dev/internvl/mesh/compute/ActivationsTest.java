package dev.internvl.mesh.compute;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationsTest {
    private static final ComputePool POOL = new ComputePool(2);

    @AfterAll
    static void close() {
        POOL.close();
    }

    /** erf in double from its everywhere-convergent series {@code 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (2n+1)!!}. */
    static double erfReference(double x) {
        double a = Math.abs(x);
        double term = a;
        double sum = a;
        for (int n = 1; n < 400 && term > 1e-18 * sum; n++) {
            term *= 2 * a * a / (2 * n + 1);
            sum += term;
        }
        return Math.copySign(Math.min(1.0, 2 / Math.sqrt(Math.PI) * Math.exp(-a * a) * sum), x);
    }

    @Test
    void erfIsAccurateEverywhere() {
        float[] xs = new float[40_001];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = -10f + i * 0.0005f;
        }
        double worst = 0;
        for (float x : xs) {
            double want = erfReference(x);
            worst = Math.max(worst, Math.abs(Activations.erf(x) - want));
        }
        assertTrue(worst < 2e-7, "scalar erf max error " + worst);
        // The vector form on the same points, through GELU: 0.5 x (1 + erf(x / sqrt 2)).
        float[] g = xs.clone();
        Activations.gelu(POOL, g, 0, g.length);
        double worstGelu = 0;
        for (int i = 0; i < xs.length; i++) {
            double x = xs[i];
            double want = 0.5 * x * (1 + erfReference(x / Math.sqrt(2)));
            worstGelu = Math.max(worstGelu, Math.abs(g[i] - want));
        }
        assertTrue(worstGelu < 1e-6, "gelu max error " + worstGelu);
    }

    @Test
    void geluOnOddRangeTouchesOnlyThatRange() {
        float[] x = Weights.randomArray(101, 3);
        float[] before = x.clone();
        Activations.gelu(POOL, x, 3, 95);
        for (int i = 0; i < x.length; i++) {
            if (i < 3 || i >= 98) {
                assertEquals(before[i], x[i]);
            } else {
                double v = before[i];
                assertEquals(0.5 * v * (1 + erfReference(v / Math.sqrt(2))), x[i], 1e-6);
            }
        }
    }

    @Test
    void siluTimesUp() {
        int n = 1000 + 7;
        float[] gate = Weights.randomArray(n, 1);
        float[] up = Weights.randomArray(n, 2);
        float[] g0 = gate.clone();
        Activations.siluMul(POOL, gate, up, n);
        for (int i = 0; i < n; i++) {
            double g = g0[i];
            assertEquals(g / (1 + Math.exp(-g)) * up[i], gate[i], 1e-6 * (1 + Math.abs(gate[i])));
        }
    }
}
