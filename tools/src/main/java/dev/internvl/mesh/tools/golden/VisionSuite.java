package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.SafetensorsFile;

import java.util.List;
import java.util.function.Consumer;

/** {@code vision_cases}: an image file to projected embeddings for all its tiles, against {@code embeds}. */
public final class VisionSuite implements GoldenSuite {
    private static final String KEY = "vision_cases";

    @Override
    public List<String> manifestKeys() {
        return List.of(KEY);
    }

    @Override
    public void run(GoldenSet set, Consumer<CaseResult> report) {
        double atol = set.tolerance("embeds_atol", 5e-5);
        for (JsonNode c : set.cases(KEY)) {
            String id = c.path("id").asText(KEY);
            try (Checkpoint ckpt = Checkpoint.open(set.checkpointDir(c.get("checkpoint").asText()));
                 SafetensorsFile expected = set.openTensors(c.get("file").asText())) {
                float[] embeds = GoldenVision.encode(set, c, ckpt);
                report.accept(new CaseBuilder(id).maxAbs("embeds", embeds, expected.tensor("embeds").toFloatArray(), atol).build());
            } catch (Exception | LinkageError e) {
                report.accept(CaseResult.failed(id, e.toString()));
            }
        }
    }
}
