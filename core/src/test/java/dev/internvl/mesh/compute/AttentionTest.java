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

    /**
     * One position's stacked query heads over a paged cache (keys feature-major in blocks, blocks out of order),
     * read in place, give the same bits as the packed path over the same keys and values.
     */
    @ParameterizedTest
    @CsvSource({"7,96,64,16", "8,300,64,16", "3,37,12,5", "1,1,128,16", "5,530,16,4", "12,70,80,16", "6,20,20,8"})
    void onePositionOverPagedBlocksEqualsPackedPath(int rows, int keyCount, int d, int blockSize) {
        float[] q = Weights.randomArray(rows * d, 11L * rows + d);
        float[] k = Weights.randomArray(keyCount * d, 13L * keyCount + d); // [keyCount, d]
        float[] v = Weights.randomArray(keyCount * d, 17L * keyCount + d);
        int blocks = (keyCount + blockSize - 1) / blockSize;
        int[] table = new int[blocks];
        for (int b = 0; b < blocks; b++) {
            table[b] = blocks - 1 - b; // reversed: positions are not where a flat layout would put them
        }
        float[] pagedKeys = new float[blocks * blockSize * d];
        float[] pagedValues = new float[blocks * blockSize * d];
        RowLocator keyAt = p -> table[p / blockSize] * blockSize * d + p % blockSize;
        RowLocator valueAt = p -> (table[p / blockSize] * blockSize + p % blockSize) * d;
        for (int p = 0; p < keyCount; p++) {
            for (int f = 0; f < d; f++) {
                pagedKeys[keyAt.offset(p) + f * blockSize] = k[p * d + f];
            }
            System.arraycopy(v, p * d, pagedValues, valueAt.offset(p), d);
        }
        float scale = (float) (1 / Math.sqrt(d));
        float[] packed = new float[rows * d];
        Attention.attend(POOL, q, 0, d, rows, new FloatRows(k, RowLocator.strided(0, d), keyCount, d),
                new FloatColumns(v, RowLocator.strided(0, d), d, keyCount), keyCount, null, scale, packed, 0, d);
        float[] inPlace = new float[rows * d + 3];
        Attention.attendOnePosition(q, 0, rows, d, pagedKeys, keyAt, blockSize, pagedValues, valueAt, d, keyCount,
                scale, inPlace, 3);
        for (int i = 0; i < rows * d; i++) {
            assertEquals(Float.floatToRawIntBits(packed[i]), Float.floatToRawIntBits(inPlace[3 + i]), "value " + i);
        }
    }
}
