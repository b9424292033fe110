package dev.internvl.mesh.model.vision;

import dev.internvl.mesh.TestData;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;


class VisionEncoderGoldenTest {
    private static final ComputePool POOL = new ComputePool(2);

    @ParameterizedTest
    @ValueSource(strings = {"tiny-300m-style", "tiny-6b-style"})
    void tileMatchesReference(String name) {
        try (Checkpoint ckpt = Checkpoint.open(TestData.checkpoint(name));
             SafetensorsFile input = SafetensorsFile.open(TestData.goldenFile("goldens/preprocess/vit_tile_input.safetensors"));
             SafetensorsFile expected = SafetensorsFile.open(TestData.goldenFile("goldens/" + name + "/vit_tile.safetensors"))) {
            VisionEncoder encoder = VisionEncoder.load(ckpt, POOL, Precision.EXACT);
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
            TestData.assertMaxAbs("embeddings_output", seen[0], expected.tensor("embeddings_output").toFloatArray(), 1e-4);
            TestData.assertMaxAbs("last_hidden_state", seen[1], expected.tensor("last_hidden_state").toFloatArray(), 1e-4);
            TestData.assertMaxAbs("pixel_shuffled", seen[2], expected.tensor("pixel_shuffled").toFloatArray(), 1e-4);
            TestData.assertMaxAbs("embeds", embeds, expected.tensor("embeds").toFloatArray(), 5e-5);
        }
    }
}
