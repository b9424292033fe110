package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.checkpoint.TensorView;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.model.vision.VisionEncoder;
import dev.internvl.mesh.model.vision.VisionObserver;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code vit_tile_cases}: one preprocessed tile through the vision tower, checking the embeddings output, the
 * encoder output, the pixel-unshuffled tokens and the projected embeddings against the golden tensors the case
 * lists.
 */
public final class VitTileSuite implements GoldenSuite {
    public static final String KEY = "vit_tile_cases";

    @Override
    public List<String> manifestKeys() {
        return List.of(KEY);
    }

    @Override
    public void run(GoldenSet set, Consumer<CaseResult> report) {
        for (JsonNode c : set.cases(KEY)) {
            String id = c.path("id").asText(KEY);
            try {
                report.accept(check(set, c, id));
            } catch (Exception | LinkageError | AssertionError e) {
                report.accept(CaseResult.failed(id, e.toString()));
            }
        }
    }

    private static CaseResult check(GoldenSet set, JsonNode c, String id) {
        double hiddenAtol = set.tolerance("vit_hidden_atol", 1e-4);
        Map<String, Double> tolerances = Map.of(
                "embeddings_output", hiddenAtol,
                "last_hidden_state", hiddenAtol,
                "pixel_shuffled", set.tolerance("pixel_shuffled_atol", hiddenAtol),
                "embeds", set.tolerance("embeds_atol", 5e-5));
        CaseBuilder out = new CaseBuilder(id);
        try (Checkpoint ckpt = Checkpoint.open(set.checkpointDir(c.get("checkpoint").asText()));
             SafetensorsFile input = set.openTensors(c.path("input").get("file").asText());
             SafetensorsFile expected = set.openTensors(c.get("file").asText())) {
            TensorView pixels = input.tensor("pixel_values");
            int tiles = Math.toIntExact(pixels.dim(0));
            Map<String, float[]> actual = new HashMap<>();
            VisionEncoder encoder = VisionEncoder.load(ckpt, ComputePool.shared(), Precision.EXACT);
            float[] embeds = encoder.encode(pixels.toFloatArray(), tiles, new VisionObserver() {
                @Override
                public void embeddings(float[] x, int t, int tokens, int dim) {
                    actual.put("embeddings_output", x.clone());
                }

                @Override
                public void encoderOutput(float[] x, int t, int tokens, int dim) {
                    actual.put("last_hidden_state", x.clone());
                }

                @Override
                public void pixelShuffled(float[] x, int t, int tokens, int dim) {
                    actual.put("pixel_shuffled", x.clone());
                }
            });
            actual.put("embeds", embeds);
            int compared = 0;
            for (var names = c.path("tensors").fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (actual.containsKey(name)) {
                    out.maxAbs(name, actual.get(name), expected.tensor(name).toFloatArray(), tolerances.get(name));
                    compared++;
                }
            }
            if (compared == 0) {
                out.fail("the case lists none of " + tolerances.keySet());
            }
        }
        return out.build();
    }
}
