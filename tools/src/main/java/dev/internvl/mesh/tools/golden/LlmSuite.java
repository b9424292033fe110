package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.Checkpoint;

/**
 * {@code llm_cases}: text prompts through the language model alone, compared position by position, then 16 greedy
 * steps from the KV cache (see {@link LlmCaseCheck}).
 */
public final class LlmSuite extends ModelCaseSuite {
    public static final String KEY = "llm_cases";

    public LlmSuite() {
        this(LanguageModels.IN_PROCESS);
    }

    public LlmSuite(LanguageModels models) {
        super(KEY, models);
    }

    @Override
    Prompt prompt(GoldenSet set, JsonNode c, Checkpoint checkpoint) {
        return new Prompt(LlmCaseCheck.ints(c.get("input_ids")), null);
    }
}
