package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.model.llm.ImageSplice;
import dev.internvl.mesh.model.llm.Qwen2Model;

import java.util.List;
import java.util.function.Consumer;

/**
 * {@code mm_cases}: the whole image-to-text path. The image is preprocessed and encoded by the vision tower, its
 * rows replace the prompt's {@code <IMG_CONTEXT>} tokens, then the prompt and greedy decoding are checked as for
 * the text cases ({@link LlmCaseCheck}).
 */
public final class MultimodalSuite implements GoldenSuite {
    private final LanguageModels models;

    public MultimodalSuite() {
        this(LanguageModels.IN_PROCESS);
    }

    public MultimodalSuite(LanguageModels models) {
        this.models = models;
    }

    private static final String KEY = "mm_cases";

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
                JsonNode compact = c.get("input_ids_compact");
                int contextId = compact.get("img_context_id").asInt();
                int count = compact.get("img_context_count").asInt();
                int[] prefix = LlmCaseCheck.ints(compact.get("prefix"));
                int[] suffix = LlmCaseCheck.ints(compact.get("suffix"));
                int[] prompt = new int[prefix.length + count + suffix.length];
                System.arraycopy(prefix, 0, prompt, 0, prefix.length);
                java.util.Arrays.fill(prompt, prefix.length, prefix.length + count, contextId);
                System.arraycopy(suffix, 0, prompt, prefix.length + count, suffix.length);

                float[] embeds = GoldenVision.encode(set, c, ckpt);
                CaseBuilder out = new CaseBuilder(id);
                Qwen2Model model = models.open(ckpt);
                int steps = c.has("greedy_new_tokens") ? c.get("greedy_new_tokens").asInt()
                        : Math.toIntExact(expected.tensor("greedy_ids").elementCount());
                check.check(out, model, prompt, new ImageSplice(contextId, embeds, count), steps, expected);
                report.accept(out.build());
            } catch (Exception | LinkageError e) {
                report.accept(CaseResult.failed(id, e.toString()));
            }
        }
    }
}
