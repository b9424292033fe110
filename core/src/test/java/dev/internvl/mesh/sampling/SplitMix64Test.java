package dev.internvl.mesh.sampling;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SplitMix64Test {

    @Test
    void matchesTheReferenceOutputForSeedZero() {
        // The first outputs of the reference splitmix64.c (Vigna) started from state 0.
        SplitMix64 r = new SplitMix64(0);
        assertEquals(0xE220A8397B1DCDAFL, r.nextLong());
        assertEquals(0x6E789E6AA1B965F4L, r.nextLong());
        assertEquals(0x06C45D188009454FL, r.nextLong());
    }

    @Test
    void doublesAreTheTop53BitsInTheUnitInterval() {
        SplitMix64 a = new SplitMix64(12345);
        SplitMix64 b = new SplitMix64(12345);
        for (int i = 0; i < 1000; i++) {
            double d = a.nextDouble();
            assertTrue(d >= 0 && d < 1);
            assertEquals((b.nextLong() >>> 11) / (double) (1L << 53), d);
        }
    }
}
