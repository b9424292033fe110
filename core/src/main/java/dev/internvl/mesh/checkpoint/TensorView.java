package dev.internvl.mesh.checkpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One tensor of a checkpoint or golden file: its dtype, shape and a view of its little-endian bytes. For a
 * memory-mapped file the view is backed by the mapping, so reading it touches only the pages it needs.
 */
public record TensorView(String name, DType dtype, long[] shape, MemorySegment data) {
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public long elementCount() {
        return elementCount(shape);
    }

    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    public boolean hasShape(long... expected) {
        return Arrays.equals(shape, expected);
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    /** Element {@code i} widened to float (exact for BF16, F16 and integer types up to 2^24). */
    public float getFloat(long i) {
        return switch (dtype) {
            case F32 -> data.get(FLOAT_LE, i * 4);
            case BF16 -> Float.intBitsToFloat((data.get(SHORT_LE, i * 2) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(data.get(SHORT_LE, i * 2));
            case F64 -> (float) data.get(DOUBLE_LE, i * 8);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case I16 -> data.get(SHORT_LE, i * 2);
            case I32 -> data.get(INT_LE, i * 4);
            case I64 -> data.get(LONG_LE, i * 8);
        };
    }

    /** Element {@code i} of an integer tensor. */
    public long getLong(long i) {
        return switch (dtype) {
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
            case I16 -> data.get(SHORT_LE, i * 2);
            case I32 -> data.get(INT_LE, i * 4);
            case I64 -> data.get(LONG_LE, i * 8);
            default -> throw new IllegalStateException(name + " is " + dtype + ", not an integer tensor");
        };
    }

    /** The whole tensor widened to a float array on the heap; for small tensors (norms, biases, goldens). */
    public float[] toFloatArray() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(name + " has " + n + " elements: too large for a heap array");
        }
        float[] out = new float[(int) n];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, FLOAT_LE, 0, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) {
                out[i] = getFloat(i);
            }
        }
        return out;
    }

    public int[] toIntArray() {
        long n = elementCount();
        int[] out = new int[Math.toIntExact(n)];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.toIntExact(getLong(i));
        }
        return out;
    }

    public byte[] toByteArray() {
        return data.toArray(ValueLayout.JAVA_BYTE);
    }
}
