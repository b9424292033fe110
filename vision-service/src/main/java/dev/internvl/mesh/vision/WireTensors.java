package dev.internvl.mesh.vision;

import com.google.protobuf.UnsafeByteOperations;
import dev.internvl.mesh.checkpoint.SafetensorsWriter;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Float arrays as wire {@link Tensor}s: little-endian BF16 (round to nearest even), F16 or F32. */
final class WireTensors {
    private WireTensors() {
    }

    /** A {@code [rows, cols]} tensor of {@code values} in {@code dtype}. */
    static Tensor matrix(float[] values, int rows, int cols, DType dtype) {
        if (values.length != rows * cols) {
            throw new IllegalArgumentException(values.length + " values are not " + rows + " x " + cols);
        }
        ByteBuffer bytes = ByteBuffer.allocate(values.length * bytesPerValue(dtype)).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case DTYPE_F32 -> bytes.asFloatBuffer().put(values);
            case DTYPE_BF16 -> {
                for (float v : values) {
                    bytes.putShort(SafetensorsWriter.toBf16(v));
                }
            }
            case DTYPE_F16 -> {
                for (float v : values) {
                    bytes.putShort(Float.floatToFloat16(v));
                }
            }
            default -> throw new IllegalArgumentException("no wire encoding for " + dtype);
        }
        return Tensor.newBuilder()
                .setDtype(dtype)
                .addShape(rows)
                .addShape(cols)
                // the array is ours alone and never written again
                .setData(UnsafeByteOperations.unsafeWrap(bytes.array()))
                .build();
    }

    private static int bytesPerValue(DType dtype) {
        return dtype == DType.DTYPE_F32 ? 4 : 2;
    }
}
