package dev.internvl.mesh.model.vision;

import dev.internvl.mesh.TestData;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.compute.ComputePool;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertTrue;

class VisionEncoderGoldenTest {
    private static final ComputePool POOL = new ComputePool(2);

    @ParameterizedTest
    @ValueSource(strings = {"tiny-300m-style", "tiny-6b-style"})
    void tileMatchesReference(String name) {
        try (Checkpoint ckpt = Checkpoint.open(TestData.checkpoint(name));
             SafetensorsFile input = SafetensorsFile.open(TestData.goldenFile("goldens/preprocess/vit_tile_input.safetensors"));
             SafetensorsFile expected = SafetensorsFile.open(TestData.goldenFile("goldens/" + name + "/vit_tile.safetensors"))) {
            VisionEncoder encoder = VisionEncoder.load(ckpt, POOL);
            float[][] seen = new float[3][];
            float[] embeds = encoder.encode(input.tensor("pixel_values").toFloatArray(), 1, new VisionObserver() {
                @Override
                public void embeddings(float[] x, int tiles, int tokens, int dim) {
                    seen[0] = x.clone();
                }

                @Override
                public void encoderOutput(float[] x, int tiles, int tokens, int dim) {
                    seen[1] = x.clone();
                }

                @Override
                public void pixelShuffled(float[] x, int tiles, int tokens, int dim) {
                    seen[2] = x.clone();
                }
            });
            assertClose("embeddings_output", seen[0], expected.tensor("embeddings_output").toFloatArray(), 1e-4);
            assertClose("last_hidden_state", seen[1], expected.tensor("last_hidden_state").toFloatArray(), 1e-4);
            assertClose("pixel_shuffled", seen[2], expected.tensor("pixel_shuffled").toFloatArray(), 1e-4);
            assertClose("embeds", embeds, expected.tensor("embeds").toFloatArray(), 5e-5);
        }
    }

    static void assertClose(String what, float[] actual, float[] expected, double atol) {
        assertTrue(actual.length == expected.length, what + ": " + actual.length + " values, expected " + expected.length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < actual.length; i++) {
            double d = Math.abs((double) actual[i] - expected[i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        String detail = at < 0 ? "" : " at " + at + " (" + actual[at] + " vs " + expected[at] + ")";
        assertTrue(worst <= atol, what + ": max |diff| " + worst + " > " + atol + detail
                + " first values " + Arrays.toString(Arrays.copyOf(actual, 4)) + " vs " + Arrays.toString(Arrays.copyOf(expected, 4)));
        System.out.println(what + ": max |diff| " + worst);
    }
}
