package dev.internvl.mesh.model.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.TestData;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/**
 * The golden text and image prompts on the fast path (BF16 activations in the products): last-position logits
 * within 0.15 of the fp32 reference, the bound llama.cpp-style BF16 inference is held to. Prompts are prefilled in
 * one chunk and in chunks of 5, so both the few-row kernel and the many-row BF16 GEMM (for the image prompts) run.
 */
class Qwen2FastPathGoldenTest {
    private static final double LOGITS_TOLERANCE = 0.15;
    private static final ComputePool POOL = new ComputePool(2);

    @AfterAll
    static void closePool() {
        POOL.close();
    }

    static List<JsonNode> textCases() throws IOException {
        return Qwen2GoldenTest.cases();
    }

    static List<JsonNode> multimodalCases() throws IOException {
        return Qwen2GoldenTest.multimodalCases();
    }

    @ParameterizedTest
    @MethodSource("textCases")
    void textPromptLogitsStayWithinTolerance(JsonNode c) throws Exception {
        int[] prompt = Qwen2GoldenTest.ints(c.get("input_ids"));
        checkLogits(c, prompt, null);
    }

    @ParameterizedTest
    @MethodSource("multimodalCases")
    void imagePromptLogitsStayWithinTolerance(JsonNode c) throws Exception {
        JsonNode manifest = new ObjectMapper().readTree(TestData.goldenFile("manifest.json").toFile());
        String visionFile = null;
        for (JsonNode v : manifest.get("vision_cases")) {
            if (v.get("id").asText().equals(c.get("vision_case").asText())) {
                visionFile = v.get("file").asText();
            }
        }
        JsonNode compact = c.get("input_ids_compact");
        int[] prefix = Qwen2GoldenTest.ints(compact.get("prefix"));
        int[] suffix = Qwen2GoldenTest.ints(compact.get("suffix"));
        int contextId = compact.get("img_context_id").asInt();
        int count = compact.get("img_context_count").asInt();
        int[] prompt = new int[prefix.length + count + suffix.length];
        System.arraycopy(prefix, 0, prompt, 0, prefix.length);
        Arrays.fill(prompt, prefix.length, prefix.length + count, contextId);
        System.arraycopy(suffix, 0, prompt, prefix.length + count, suffix.length);
        try (SafetensorsFile vision = SafetensorsFile.open(TestData.goldenFile(visionFile))) {
            checkLogits(c, prompt, new ImageSplice(contextId, vision.tensor("embeds").toFloatArray(), count));
        }
    }

    private static void checkLogits(JsonNode c, int[] prompt, ImageSplice splice) throws Exception {
        try (Checkpoint ckpt = Checkpoint.open(TestData.checkpoint(c.get("checkpoint").asText()));
             SafetensorsFile expected = SafetensorsFile.open(TestData.goldenFile(c.get("file").asText()))) {
            Qwen2Model model = Qwen2Model.load(ckpt, POOL, Precision.FAST);
            float[] reference = expected.tensor("logits_last").toFloatArray();
            for (int chunk : new int[]{prompt.length, 5}) {
                KvBlockPool cache = model.newKvCache(16, prompt.length / 16 + 4);
                KvSequence seq = cache.newSequence();
                float[] logits = model.prefill(seq, prompt, splice, chunk);
                TestData.assertMaxAbs("fast-path logits_last (chunk " + chunk + ")", logits, reference, LOGITS_TOLERANCE);
                seq.release();
            }
        }
    }
}
