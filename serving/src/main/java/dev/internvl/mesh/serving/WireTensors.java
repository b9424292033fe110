package dev.internvl.mesh.serving;

import com.google.protobuf.ByteString;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Float tensors on the wire: BF16 (half the bytes, the model's own weight precision) or F32, little-endian. BF16
 * is rounded to nearest even, as PyTorch's {@code .to(torch.bfloat16)} does.
 */
public final class WireTensors {
    private WireTensors() {
    }

    public static Tensor encode(float[] values, int offset, int count, long[] shape, DType dtype) {
        ByteBuffer buf;
        switch (dtype) {
            case DTYPE_F32 -> {
                buf = ByteBuffer.allocate(count * 4).order(ByteOrder.LITTLE_ENDIAN);
                buf.asFloatBuffer().put(values, offset, count);
            }
            case DTYPE_BF16, DTYPE_UNSPECIFIED -> {
                buf = ByteBuffer.allocate(count * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < count; i++) {
                    buf.putShort(i * 2, toBf16(values[offset + i]));
                }
                dtype = DType.DTYPE_BF16;
            }
            default -> throw new IllegalArgumentException("cannot send tensors as " + dtype);
        }
        Tensor.Builder t = Tensor.newBuilder().setDtype(dtype).setData(ByteString.copyFrom(buf.array()));
        for (long d : shape) {
            t.addShape(d);
        }
        return t.build();
    }

    /** The tensor's values as floats; throws IllegalArgumentException for a malformed tensor. */
    public static float[] decode(Tensor t) {
        long elements = 1;
        for (long d : t.getShapeList()) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor shape " + t.getShapeList() + " has a negative dimension");
            }
            elements = Math.multiplyExact(elements, d);
        }
        int size = switch (t.getDtype()) {
            case DTYPE_BF16, DTYPE_F16 -> 2;
            case DTYPE_F32 -> 4;
            default -> throw new IllegalArgumentException("tensor dtype " + t.getDtype() + " is not a float type");
        };
        if (t.getData().size() != elements * size) {
            throw new IllegalArgumentException("tensor of shape " + t.getShapeList() + " and dtype " + t.getDtype()
                    + " needs " + elements * size + " bytes, got " + t.getData().size());
        }
        ByteBuffer buf = t.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[(int) elements];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (t.getDtype()) {
                case DTYPE_BF16 -> Float.intBitsToFloat((buf.getShort(i * 2) & 0xFFFF) << 16);
                case DTYPE_F16 -> Float.float16ToFloat(buf.getShort(i * 2));
                default -> buf.getFloat(i * 4);
            };
        }
        return out;
    }

    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
