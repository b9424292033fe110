package dev.internvl.mesh.compute;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.function.IntUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;

class AttentionTest {
    private static final ComputePool POOL = new ComputePool(2);

    @AfterAll
    static void close() {
        POOL.close();
    }

    /** Queries, keys and values interleaved in one [rows, 3 * stride] buffer, as the ViT's qkv output. */
    @ParameterizedTest
    @CsvSource({"1,1,8,false", "7,7,16,true", "300,300,64,false", "250,410,24,true", "5,1025,64,false"})
    void matchesNaive(int rows, int keys, int d, boolean causal) {
        int stride = 3 * d + 5;
        float[] buf = Weights.randomArray(Math.max(rows, keys) * stride, rows * 31L + keys);
        float scale = (float) (1 / Math.sqrt(d));
        int offset = keys - rows; // causal: query i sits at position offset + i
        IntUnaryOperator visible = causal ? i -> offset + i + 1 : null;
        float[] out = new float[rows * d];
        Attention.attend(POOL, buf, 0, stride, rows, new FloatRows(buf, RowLocator.strided(d, stride), keys, d),
                new FloatColumns(buf, RowLocator.strided(2 * d, stride), d, keys), keys, visible, scale, out, 0, d);
        for (int i = 0; i < rows; i++) {
            int n = causal ? offset + i + 1 : keys;
            double[] p = new double[n];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) {
                    s += (double) buf[i * stride + c] * buf[j * stride + d + c];
                }
                p[j] = s * scale;
                max = Math.max(max, p[j]);
            }
            double sum = 0;
            for (int j = 0; j < n; j++) {
                p[j] = Math.exp(p[j] - max);
                sum += p[j];
            }
            for (int c = 0; c < d; c++) {
                double o = 0;
                for (int j = 0; j < n; j++) {
                    o += p[j] / sum * buf[j * stride + 2 * d + c];
                }
                assertEquals(o, out[i * d + c], 2e-5, "row " + i + " dim " + c);
            }
        }
    }
}
