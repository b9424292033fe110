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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The text LLM cases of the golden fixtures: prompt logits and hidden states, and 16 greedy steps. */
class Qwen2GoldenTest {
    private static final ComputePool POOL = new ComputePool(2);

    @AfterAll
    static void closePool() {
        POOL.close();
    }

    static List<JsonNode> cases() throws IOException {
        JsonNode manifest = new ObjectMapper().readTree(TestData.goldenFile("manifest.json").toFile());
        List<JsonNode> out = new ArrayList<>();
        manifest.get("llm_cases").forEach(out::add);
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void promptAndGreedyMatchReference(JsonNode c) throws Exception {
        int[] prompt = ints(c.get("input_ids"));
        try (Checkpoint ckpt = Checkpoint.open(TestData.checkpoint(c.get("checkpoint").asText()));
             SafetensorsFile expected = SafetensorsFile.open(TestData.goldenFile(c.get("file").asText()))) {
            Qwen2Model model = Qwen2Model.load(ckpt, POOL, Precision.EXACT);
            int h = model.config().hiddenSize();
            int vocab = model.config().vocabSize();
            KvBlockPool cache = model.newKvCache(16, 64);
            KvSequence seq = cache.newSequence();
            float[] finalHidden = new float[prompt.length * h];
            float[] layerHidden = new float[(model.config().numLayers() + 1) * prompt.length * h];
            float[] lastLogits = null;
            int chunk = 7; // odd on purpose: several chunks, block boundaries inside chunks
            for (int from = 0; from < prompt.length; from += chunk) {
                int to = Math.min(prompt.length, from + chunk);
                int base = from;
                ForwardObserver observer = new ForwardObserver() {
                    @Override
                    public void residual(int index, float[] x, int rows, int dim) {
                        for (int r = 0; r < rows; r++) {
                            System.arraycopy(x, r * h, layerHidden, (index * prompt.length + base + r) * h, h);
                        }
                    }

                    @Override
                    public boolean wantsFinalHidden() {
                        return true;
                    }

                    @Override
                    public void finalHidden(float[] hidden, int rows, int dim) {
                        System.arraycopy(hidden, 0, finalHidden, base * h, rows * h);
                    }
                };
                var input = new StepInput(seq, model.embed(prompt, from, to, null), to - from, LogitRows.LAST);
                lastLogits = model.forward(List.of(input), observer).getFirst();
            }
            TestData.assertMaxAbs("final_hidden", finalHidden, expected.tensor("final_hidden").toFloatArray(), 1e-4);
            TestData.assertMaxAbs("layer_hidden", layerHidden, expected.tensor("layer_hidden").toFloatArray(), 1e-4);
            TestData.assertMaxAbs("logits_last", lastLogits, expected.tensor("logits_last").toFloatArray(), 2e-4);

            int[] greedy = new int[16];
            float[] logits = lastLogits;
            for (int step = 0; step < greedy.length; step++) {
                greedy[step] = argmax(logits, vocab);
                if (step + 1 < greedy.length) {
                    logits = model.decode(List.of(seq), new int[]{greedy[step]}).getFirst();
                }
            }
            assertArrayEquals(expected.tensor("greedy_ids").toIntArray(), greedy, "greedy ids");
            seq.release();
            assertTrue(cache.freeBlocks() == cache.blockCount());
        }
    }

    static List<JsonNode> multimodalCases() throws IOException {
        JsonNode manifest = new ObjectMapper().readTree(TestData.goldenFile("manifest.json").toFile());
        List<JsonNode> out = new ArrayList<>();
        manifest.get("mm_cases").forEach(out::add);
        return out;
    }

    /** Image prompts: the vision golden's embeds spliced in, prefilled in chunks that cut through the image. */
    @ParameterizedTest
    @MethodSource("multimodalCases")
    void multimodalPromptMatchesReference(JsonNode c) throws Exception {
        JsonNode manifest = new ObjectMapper().readTree(TestData.goldenFile("manifest.json").toFile());
        String visionFile = null;
        for (JsonNode v : manifest.get("vision_cases")) {
            if (v.get("id").asText().equals(c.get("vision_case").asText())) {
                visionFile = v.get("file").asText();
            }
        }
        JsonNode compact = c.get("input_ids_compact");
        int[] prefix = ints(compact.get("prefix"));
        int[] suffix = ints(compact.get("suffix"));
        int contextId = compact.get("img_context_id").asInt();
        int count = compact.get("img_context_count").asInt();
        int[] prompt = new int[prefix.length + count + suffix.length];
        System.arraycopy(prefix, 0, prompt, 0, prefix.length);
        Arrays.fill(prompt, prefix.length, prefix.length + count, contextId);
        System.arraycopy(suffix, 0, prompt, prefix.length + count, suffix.length);
        try (Checkpoint ckpt = Checkpoint.open(TestData.checkpoint(c.get("checkpoint").asText()));
             SafetensorsFile vision = SafetensorsFile.open(TestData.goldenFile(visionFile));
             SafetensorsFile expected = SafetensorsFile.open(TestData.goldenFile(c.get("file").asText()))) {
            Qwen2Model model = Qwen2Model.load(ckpt, POOL, Precision.EXACT);
            var splice = new ImageSplice(contextId, vision.tensor("embeds").toFloatArray(), count);
            KvBlockPool cache = model.newKvCache(16, prompt.length / 16 + 4);
            KvSequence seq = cache.newSequence();
            float[] logits = model.prefill(seq, prompt, splice, 100);
            TestData.assertMaxAbs("logits_last", logits, expected.tensor("logits_last").toFloatArray(), 2e-4);
            int[] greedy = new int[16];
            for (int step = 0; step < greedy.length; step++) {
                greedy[step] = argmax(logits, model.config().vocabSize());
                if (step + 1 < greedy.length) {
                    logits = model.decode(List.of(seq), new int[]{greedy[step]}).getFirst();
                }
            }
            assertArrayEquals(expected.tensor("greedy_ids").toIntArray(), greedy, "greedy ids");
            seq.release();
        }
    }

    static int argmax(float[] logits, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
