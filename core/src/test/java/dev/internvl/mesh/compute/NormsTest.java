package dev.internvl.mesh.compute;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class NormsTest {
    private static final ComputePool POOL = new ComputePool(3);

    @AfterAll
    static void close() {
        POOL.close();
    }

    @Test
    void rmsNormOfStridedRows() {
        int rows = 5, dim = 37, ld = 50;
        float[] x = Weights.randomArray(rows * ld, 1);
        float[] w = Weights.randomArray(dim, 2);
        float[] out = new float[rows * ld];
        Norms.rmsNorm(POOL, x, 4, ld, rows, dim, w, 1e-6f, out, 4, ld);
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int c = 0; c < dim; c++) {
                ss += (double) x[4 + r * ld + c] * x[4 + r * ld + c];
            }
            double scale = 1 / Math.sqrt(ss / dim + 1e-6);
            for (int c = 0; c < dim; c++) {
                assertEquals(x[4 + r * ld + c] * scale * w[c], out[4 + r * ld + c], 1e-5);
            }
        }
    }

    @Test
    void layerNormInPlace() {
        int rows = 70, dim = 259;
        float[] x = Weights.randomArray(rows * dim, 3);
        for (int i = 0; i < x.length; i++) {
            x[i] = x[i] * 3 + 5; // a large mean, as residual streams have
        }
        float[] w = Weights.randomArray(dim, 4);
        float[] b = Weights.randomArray(dim, 5);
        float[] x0 = x.clone();
        Norms.layerNorm(POOL, x, rows, dim, w, b, 1e-5f, x);
        for (int r = 0; r < rows; r++) {
            double mean = 0;
            for (int c = 0; c < dim; c++) {
                mean += x0[r * dim + c];
            }
            mean /= dim;
            double var = 0;
            for (int c = 0; c < dim; c++) {
                var += Math.pow(x0[r * dim + c] - mean, 2);
            }
            var /= dim;
            for (int c = 0; c < dim; c++) {
                double want = (x0[r * dim + c] - mean) / Math.sqrt(var + 1e-5) * w[c] + b[c];
                assertEquals(want, x[r * dim + c], 2e-5);
            }
        }
    }
}
