package dev.internvl.mesh.compute;

import dev.internvl.mesh.checkpoint.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Random weight matrices stored in a given dtype, with their exact fp32 values for naive references. */
final class Weights {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final WeightMatrix matrix;
    /** The stored values widened, row-major [out, in]. */
    final float[] values;

    private Weights(WeightMatrix matrix, float[] values) {
        this.matrix = matrix;
        this.values = values;
    }

    static Weights random(DType dtype, int out, int in, long seed) {
        // One byte in, so the data does not start aligned: mapped tensors can sit at any offset.
        return random(dtype, out, in, seed, 1);
    }

    /** As {@link #random(DType, int, int, long)}, the data {@code offset} bytes past a 64-byte boundary. */
    static Weights random(DType dtype, int out, int in, long seed, int offset) {
        Random r = new Random(seed);
        int n = out * in;
        MemorySegment seg = Arena.ofAuto().allocate((long) n * dtype.byteSize() + offset, 64).asSlice(offset);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (float) r.nextGaussian();
            switch (dtype) {
                case BF16 -> {
                    short bits = (short) (Float.floatToRawIntBits(v) >>> 16);
                    seg.set(SHORT_LE, 2L * i, bits);
                    values[i] = Float.intBitsToFloat((bits & 0xFFFF) << 16);
                }
                case F16 -> {
                    short bits = Float.floatToFloat16(v);
                    seg.set(SHORT_LE, 2L * i, bits);
                    values[i] = Float.float16ToFloat(bits);
                }
                case F32 -> {
                    seg.set(FLOAT_LE, 4L * i, v);
                    values[i] = v;
                }
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return new Weights(new WeightMatrix("w", dtype, seg, out, in), values);
    }

    static float[] randomArray(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }
}
