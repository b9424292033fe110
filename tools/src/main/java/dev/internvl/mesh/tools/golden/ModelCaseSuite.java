package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.model.llm.ImageSplice;

import java.util.List;
import java.util.function.Consumer;

/**
 * The cases that run a prompt and greedy decoding through the language model ({@link LlmCaseCheck}): per case the
 * checkpoint and the golden tensors are opened, the subclass builds the prompt, and the model comes from
 * {@link LanguageModels} (in this process, or across layer shards).
 */
abstract class ModelCaseSuite implements GoldenSuite {
    private final String key;
    private final LanguageModels models;

    ModelCaseSuite(String key, LanguageModels models) {
        this.key = key;
        this.models = models;
    }

    /** A case's prompt ids, with the image rows that replace its image-context tokens (null for text). */
    record Prompt(int[] ids, ImageSplice splice) {
    }

    abstract Prompt prompt(GoldenSet set, JsonNode c, Checkpoint checkpoint) throws Exception;

    @Override
    public List<String> manifestKeys() {
        return List.of(key);
    }

    @Override
    public void run(GoldenSet set, Consumer<CaseResult> report) {
        LlmCaseCheck check = new LlmCaseCheck(set);
        for (JsonNode c : set.cases(key)) {
            String id = c.path("id").asText(key);
            try (Checkpoint ckpt = Checkpoint.open(set.checkpointDir(c.get("checkpoint").asText()));
                 SafetensorsFile expected = set.openTensors(c.get("file").asText())) {
                Prompt prompt = prompt(set, c, ckpt);
                CaseBuilder out = new CaseBuilder(id);
                int steps = c.has("greedy_new_tokens") ? c.get("greedy_new_tokens").asInt()
                        : Math.toIntExact(expected.tensor("greedy_ids").elementCount());
                check.check(out, models.open(ckpt), prompt.ids(), prompt.splice(), steps, expected);
                report.accept(out.build());
            } catch (Exception | LinkageError | AssertionError e) {
                report.accept(CaseResult.failed(id, e.toString()));
            }
        }
    }
}
