package dev.internvl.mesh.tools.bench;

import java.util.Locale;

/**
 * {@code make bench}: the engine's speed on a checkpoint, each figure beside the machine limit it is bounded by,
 * measured in the same run.
 */
public final class Bench {
    public static void main(String[] args) throws Exception {
        int threads = Runtime.getRuntime().availableProcessors();
        MachineProbe probe = new MachineProbe(threads);
        System.out.printf(Locale.ROOT, "threads: %d, vector width: %d floats%n", threads,
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length());
        probe.fmaPeak(50_000_000L, 1); // warm-up: JIT compiles the loops
        Measurement fma = probe.fmaPeak(600_000_000L, 5);
        System.out.println("machine fp32 FMA peak:     " + fma.describe(1e9, "GFLOP/s"));
        Measurement bw = probe.readBandwidth(1L << 30, 6);
        System.out.println("machine memory read bw:    " + bw.describe(1e9, "GB/s"));
    }
}
