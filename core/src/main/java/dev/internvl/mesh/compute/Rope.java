package dev.internvl.mesh.compute;

/**
 * Rotary position embedding in the rotate_half form (dimension j pairs with j + D/2), with the fp32 arithmetic of
 * HF transformers: {@code inv_freq[j] = 1 / theta^(2j/D)} and {@code angle = fp32(pos * inv_freq[j])}, then fp32
 * cos and sin of that angle. Rounding the angle to fp32 matters: at position 3000 its ulp is 2.4e-4.
 */
public final class Rope {
    private final int headDim;
    private final int half;
    private final float[] inverseFrequencies;

    public Rope(int headDim, double theta) {
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("RoPE needs an even head dimension, got " + headDim);
        }
        this.headDim = headDim;
        this.half = headDim / 2;
        this.inverseFrequencies = new float[half];
        float base = (float) theta;
        for (int j = 0; j < half; j++) {
            float exponent = (float) (2 * j) / (float) headDim;
            inverseFrequencies[j] = 1f / (float) Math.pow(base, exponent);
        }
    }

    public int headDim() {
        return headDim;
    }

    /**
     * Cos and sin tables for the given positions, {@code D/2} values per position: element {@code j} of position
     * {@code i} at {@code i * D/2 + j}.
     */
    public Angles angles(int[] positions) {
        float[] cos = new float[positions.length * half];
        float[] sin = new float[positions.length * half];
        for (int i = 0; i < positions.length; i++) {
            float pos = positions[i];
            for (int j = 0; j < half; j++) {
                float angle = pos * inverseFrequencies[j];
                cos[i * half + j] = (float) Math.cos(angle);
                sin[i * half + j] = (float) Math.sin(angle);
            }
        }
        return new Angles(cos, sin);
    }

    /** The per-position cos and sin tables {@link #angles} builds. */
    public record Angles(float[] cos, float[] sin) {
    }

    /**
     * Rotates {@code heads} consecutive head vectors starting at {@code x[off]}, all at the position whose angles are
     * entry {@code position} of the tables.
     */
    public void apply(float[] x, int off, int heads, Angles angles, int position) {
        int table = position * half;
        float[] cos = angles.cos();
        float[] sin = angles.sin();
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int j = 0; j < half; j++) {
                float a = x[base + j];
                float b = x[base + j + half];
                float c = cos[table + j];
                float s = sin[table + j];
                x[base + j] = a * c - b * s;
                x[base + j + half] = b * c + a * s;
            }
        }
    }
}
