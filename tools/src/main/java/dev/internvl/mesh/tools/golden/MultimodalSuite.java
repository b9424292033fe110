package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.model.llm.ImageSplice;

import java.util.Arrays;

/**
 * {@code mm_cases}: the whole image-to-text path. The image is preprocessed and encoded by the vision tower, its
 * rows replace the prompt's {@code <IMG_CONTEXT>} tokens, then the prompt and greedy decoding are checked as for
 * the text cases ({@link LlmCaseCheck}).
 */
public final class MultimodalSuite extends ModelCaseSuite {
    public MultimodalSuite() {
        this(LanguageModels.IN_PROCESS);
    }

    public MultimodalSuite(LanguageModels models) {
        super("mm_cases", models);
    }

    @Override
    Prompt prompt(GoldenSet set, JsonNode c, Checkpoint checkpoint) throws Exception {
        JsonNode compact = c.get("input_ids_compact");
        int contextId = compact.get("img_context_id").asInt();
        int count = compact.get("img_context_count").asInt();
        int[] prefix = LlmCaseCheck.ints(compact.get("prefix"));
        int[] suffix = LlmCaseCheck.ints(compact.get("suffix"));
        int[] prompt = new int[prefix.length + count + suffix.length];
        System.arraycopy(prefix, 0, prompt, 0, prefix.length);
        Arrays.fill(prompt, prefix.length, prefix.length + count, contextId);
        System.arraycopy(suffix, 0, prompt, prefix.length + count, suffix.length);
        float[] embeds = GoldenVision.encode(set, c, checkpoint);
        return new Prompt(prompt, new ImageSplice(contextId, embeds, count));
    }
}
