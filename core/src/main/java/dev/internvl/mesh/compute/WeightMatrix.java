package dev.internvl.mesh.compute;

import dev.internvl.mesh.checkpoint.DType;
import dev.internvl.mesh.checkpoint.TensorView;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A weight matrix {@code [outDim, inDim]}, row-major, read in place from a (memory-mapped) segment in its stored
 * dtype, BF16, F16 or F32. Values are widened to fp32 in registers a block at a time, never copied whole.
 */
public final class WeightMatrix implements MatrixOperand {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Half-width shorts, so one load widens to exactly one float vector. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** 2^112: moves an F16 exponent field placed in F32 position to the F32 bias (127 - 15). */
    private static final float F16_EXPONENT_SHIFT = 0x1p112f;

    private final String name;
    private final DType dtype;
    private final MemorySegment data;
    private final int outDim;
    private final int inDim;
    private final long rowBytes;

    public WeightMatrix(String name, DType dtype, MemorySegment data, int outDim, int inDim) {
        if (dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.F32) {
            throw new IllegalArgumentException(name + ": weights must be BF16, F16 or F32, not " + dtype);
        }
        long need = (long) outDim * inDim * dtype.byteSize();
        if (data.byteSize() < need) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes hold less than [" + outDim + ", " + inDim + "]");
        }
        this.name = name;
        this.dtype = dtype;
        this.data = data;
        this.outDim = outDim;
        this.inDim = inDim;
        this.rowBytes = (long) inDim * dtype.byteSize();
    }

    /** A checkpoint tensor seen as {@code [dim 0, product of the other dims]} (a conv kernel becomes a GEMM weight). */
    public static WeightMatrix of(TensorView t) {
        if (t.rank() < 2) {
            throw new IllegalArgumentException(t.name() + ": a weight matrix needs rank >= 2, shape " + t.shapeString());
        }
        long in = t.elementCount() / t.dim(0);
        return new WeightMatrix(t.name(), t.dtype(), t.data(), Math.toIntExact(t.dim(0)), Math.toIntExact(in));
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    @Override
    public int outDim() {
        return outDim;
    }

    @Override
    public int inDim() {
        return inDim;
    }

    /** The stored values, read in place by the kernels. */
    MemorySegment data() {
        return data;
    }

    long rowBytes() {
        return rowBytes;
    }

    /** Bytes one full pass over the matrix reads. */
    public long byteSize() {
        return rowBytes * outDim;
    }

    /** Row {@code row} as fp32 (an embedding lookup). */
    public void readRow(int row, float[] dst, int dstOff) {
        widen(row, 0, inDim, dst, dstOff);
    }

    /** Copies {@code W[row][k0 .. k0+count)} widened to fp32 into {@code dst[dstOff ..]}. */
    void widen(int row, int k0, int count, float[] dst, int dstOff) {
        long base = row * rowBytes + (long) k0 * dtype.byteSize();
        switch (dtype) {
            case BF16 -> widenBf16(base, count, dst, dstOff);
            case F16 -> widenF16(base, count, dst, dstOff);
            default -> MemorySegment.copy(data, FLOAT_LE, base, dst, dstOff, count);
        }
    }

    /**
     * Floats a row occupies in the dot-product layout of {@link #widenForDots}: {@code inDim} rounded up to whole
     * blocks of two vectors.
     */
    public int dotRowLength() {
        int block = 2 * F.length();
        return (inDim + block - 1) / block * block;
    }

    /**
     * Whether {@link #widenForDots} reorders values: BF16 rows are read as 32-bit lanes holding two values, and the
     * low and high halves of those lanes become two vectors, so each block of {@code 2 * L} values is laid out as its
     * L even-indexed values followed by its L odd-indexed ones. The activations must be laid out the same way
     * ({@link RowDotProduct}); a dot product does not care about the order of its terms, only both sides agree.
     */
    boolean pairedLayout() {
        return dtype == DType.BF16;
    }

    /** Row {@code row} widened to fp32 in the dot-product layout, {@link #dotRowLength()} floats, zero past inDim. */
    void widenForDots(int row, float[] dst, int dstOff) {
        int padded = dotRowLength();
        if (!pairedLayout()) {
            widen(row, 0, inDim, dst, dstOff);
            java.util.Arrays.fill(dst, dstOff + inDim, dstOff + padded, 0f);
            return;
        }
        int lanes = F.length();
        int block = 2 * lanes;
        long base = row * rowBytes;
        int k = 0;
        for (int bound = inDim / block * block; k < bound; k += block) {
            IntVector pairs = IntVector.fromMemorySegment(I, data, base + 2L * k, ByteOrder.LITTLE_ENDIAN);
            pairs.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + k);
            pairs.and(0xFFFF0000).reinterpretAsFloats().intoArray(dst, dstOff + k + lanes);
        }
        java.util.Arrays.fill(dst, dstOff + k, dstOff + padded, 0f);
        for (int j = 0; k + j < inDim; j++) {
            float v = Float.intBitsToFloat((data.get(SHORT_LE, base + 2L * (k + j)) & 0xFFFF) << 16);
            dst[dstOff + k + pairedPosition(j, lanes)] = v;
        }
    }

    /** Where value {@code j} of a block of {@code 2 * lanes} goes in the paired layout. */
    static int pairedPosition(int j, int lanes) {
        return (j & 1) == 0 ? j >> 1 : lanes + (j >> 1);
    }

    private void widenBf16(long base, int count, float[] dst, int dstOff) {
        int i = 0;
        for (int bound = S.loopBound(count); i < bound; i += S.length()) {
            ShortVector s = ShortVector.fromMemorySegment(S, data, base + 2L * i, ByteOrder.LITTLE_ENDIAN);
            IntVector bits = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
            bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + i);
        }
        for (; i < count; i++) {
            dst[dstOff + i] = Float.intBitsToFloat((data.get(SHORT_LE, base + 2L * i) & 0xFFFF) << 16);
        }
    }

    private void widenF16(long base, int count, float[] dst, int dstOff) {
        int i = 0;
        for (int bound = S.loopBound(count); i < bound; i += S.length()) {
            ShortVector s = ShortVector.fromMemorySegment(S, data, base + 2L * i, ByteOrder.LITTLE_ENDIAN);
            IntVector h = (IntVector) s.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
            IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            IntVector magnitude = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
            // Finite values (subnormals included) are exact after a power-of-two scale; Inf/NaN keep their payload.
            IntVector finite = magnitude.reinterpretAsFloats().mul(F16_EXPONENT_SHIFT).reinterpretAsInts();
            VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7C00 << 13);
            IntVector infOrNan = magnitude.or(0x7F800000);
            finite.blend(infOrNan, special).or(sign).reinterpretAsFloats().intoArray(dst, dstOff + i);
        }
        for (; i < count; i++) {
            dst[dstOff + i] = Float.float16ToFloat(data.get(SHORT_LE, base + 2L * i));
        }
    }

    @Override
    public void packTransposed(int n0, int nCount, int k0, int kCount, float[] panel, int width) {
        // L rows at a time are widened into a small row-major block; each column of it (one k, L consecutive rows
        // of W) is then one gather and one vector store into the panel. Twice as fast as scattering scalars.
        int lanes = F.length();
        float[] block = new float[lanes * kCount];
        int[] column = new int[lanes];
        for (int j = 0; j < lanes; j++) {
            column[j] = j * kCount;
        }
        int j0 = 0;
        for (; j0 + lanes <= nCount; j0 += lanes) {
            for (int j = 0; j < lanes; j++) {
                widen(n0 + j0 + j, k0, kCount, block, j * kCount);
            }
            for (int kk = 0; kk < kCount; kk++) {
                FloatVector.fromArray(F, block, kk, column, 0).intoArray(panel, kk * width + j0);
            }
        }
        for (int j = j0; j < nCount; j++) {
            widen(n0 + j, k0, kCount, block, 0);
            for (int kk = 0, p = j; kk < kCount; kk++, p += width) {
                panel[p] = block[kk];
            }
        }
        MatrixOperand.zeroPadColumns(panel, nCount, width, kCount);
    }
}
