package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.model.llm.Qwen2Model;

import java.util.List;
import java.util.function.Consumer;

/**
 * {@code llm_cases}: text prompts through the language model alone, compared position by position, then 16 greedy
 * steps from the KV cache (see {@link LlmCaseCheck}).
 */
public final class LlmSuite implements GoldenSuite {
    private final LanguageModels models;

    public LlmSuite() {
        this(LanguageModels.IN_PROCESS);
    }

    public LlmSuite(LanguageModels models) {
        this.models = models;
    }

    public static final String KEY = "llm_cases";

    @Override
    public List<String> manifestKeys() {
        return List.of(KEY);
    }

    @Override
    public void run(GoldenSet set, Consumer<CaseResult> report) {
        LlmCaseCheck check = new LlmCaseCheck(set);
        for (JsonNode c : set.cases(KEY)) {
            String id = c.path("id").asText(KEY);
            try (Checkpoint ckpt = Checkpoint.open(set.checkpointDir(c.get("checkpoint").asText()));
                 SafetensorsFile expected = set.openTensors(c.get("file").asText())) {
                CaseBuilder out = new CaseBuilder(id);
                int steps = c.has("greedy_new_tokens") ? c.get("greedy_new_tokens").asInt()
                        : Math.toIntExact(expected.tensor("greedy_ids").elementCount());
                check.check(out, models.open(ckpt), LlmCaseCheck.ints(c.get("input_ids")), null, steps, expected);
                report.accept(out.build());
            } catch (Exception | LinkageError | AssertionError e) {
                report.accept(CaseResult.failed(id, e.toString()));
            }
        }
    }
}
