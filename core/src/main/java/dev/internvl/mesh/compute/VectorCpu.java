package dev.internvl.mesh.compute;

import jdk.incubator.vector.FloatVector;

/** What the Vector API does not say about the CPU under it, where a kernel picks its shape by it. */
final class VectorCpu {
    /**
     * x86 with vectors narrower than 512 bits: AVX2 without AVX-512 (an AVX-512 machine prefers 512-bit vectors).
     * It has 16 vector registers rather than 32, and no instruction that permutes lanes from two vectors. ARM's
     * NEON and SVE have 32 registers.
     */
    static final boolean X86_WITHOUT_AVX512 = isX86() && FloatVector.SPECIES_PREFERRED.vectorBitSize() < 512;

    private VectorCpu() {
    }

    private static boolean isX86() {
        String arch = System.getProperty("os.arch", "");
        return arch.equals("amd64") || arch.equals("x86_64");
    }
}
