package dev.internvl.mesh.compute;

import dev.internvl.mesh.checkpoint.DType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

class WeightMatrixTest {
    /** Every one of the 65536 F16 and BF16 bit patterns widens exactly (NaN payloads included). */
    @Test
    void widensEveryHalfPrecisionPattern() {
        int n = 1 << 16;
        MemorySegment seg = Arena.ofAuto().allocate(2L * n);
        for (int i = 0; i < n; i++) {
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i, (short) i);
        }
        float[] f16 = new float[n];
        new WeightMatrix("f16", DType.F16, seg, 1, n).readRow(0, f16, 0);
        float[] bf16 = new float[n];
        new WeightMatrix("bf16", DType.BF16, seg, 1, n).readRow(0, bf16, 0);
        for (int i = 0; i < n; i++) {
            float want = Float.float16ToFloat((short) i);
            if (Float.isNaN(want)) {
                assertEquals(true, Float.isNaN(f16[i]), "pattern " + i);
            } else {
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(f16[i]), "F16 pattern " + Integer.toHexString(i));
            }
            assertEquals(i << 16, Float.floatToRawIntBits(bf16[i]), "BF16 pattern " + Integer.toHexString(i));
        }
    }
}
