package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** BF16 rounding of fp32 activations (round to nearest, ties to even), as a BF16 matrix product sees its inputs. */
final class Bf16 {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private Bf16() {
    }

    /** The BF16 bits of {@code v}, rounded to nearest even (activations are finite; NaN is not preserved). */
    static short bits(float v) {
        return (short) (roundedBits(Float.floatToRawIntBits(v)) >>> 16);
    }

    /** {@code a[off .. off+n)} rounded to BF16 values, kept as fp32. */
    static void roundInPlace(float[] a, int off, int n) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            IntVector b = FloatVector.fromArray(F, a, off + i).reinterpretAsInts();
            IntVector lsb = b.lanewise(VectorOperators.LSHR, 16).and(1);
            b.add(0x7FFF).add(lsb).and(0xFFFF0000).reinterpretAsFloats().intoArray(a, off + i);
        }
        for (; i < n; i++) {
            a[off + i] = Float.intBitsToFloat(roundedBits(Float.floatToRawIntBits(a[off + i])));
        }
    }

    private static int roundedBits(int b) {
        return (b + 0x7FFF + ((b >>> 16) & 1)) & 0xFFFF0000;
    }
}
