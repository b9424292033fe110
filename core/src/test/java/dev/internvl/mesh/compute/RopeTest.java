package dev.internvl.mesh.compute;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RopeTest {
    @Test
    void rotatesHalvesWithFloat32Angles() {
        int d = 16;
        double theta = 1_000_000.0;
        Rope rope = new Rope(d, theta);
        int[] positions = {0, 1, 3000, 32767};
        Rope.Angles angles = rope.angles(positions);
        float[] x = Weights.randomArray(2 * d, 1);
        for (int p = 0; p < positions.length; p++) {
            float[] y = x.clone();
            rope.apply(y, 0, 2, angles, p);
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < d / 2; j++) {
                    float inv = 1f / (float) Math.pow((float) theta, (float) (2 * j) / d);
                    float angle = positions[p] * inv; // rounded to fp32 before cos/sin
                    double c = Math.cos(angle);
                    double s = Math.sin(angle);
                    double a = x[h * d + j];
                    double b = x[h * d + j + d / 2];
                    assertEquals(a * c - b * s, y[h * d + j], 1e-6);
                    assertEquals(b * c + a * s, y[h * d + j + d / 2], 1e-6);
                }
            }
        }
    }
}
