package dev.internvl.mesh.sampling;

/**
 * The SplitMix64 generator (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014):
 * a 64-bit counter advanced by the golden-ratio increment, then mixed with Stafford's "variant 13" finaliser. It is
 * written out here rather than taken from {@link java.util.SplittableRandom} (which happens to produce the same
 * longs today) because the JDK does not promise that algorithm across versions, and a seeded request must give the
 * same tokens on every JDK and machine.
 */
final class SplitMix64 {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private long state;

    SplitMix64(long seed) {
        state = seed;
    }

    long nextLong() {
        state += GOLDEN_GAMMA;
        long z = state;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1): the top 53 bits of {@link #nextLong()} as a fraction. */
    double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }
}
