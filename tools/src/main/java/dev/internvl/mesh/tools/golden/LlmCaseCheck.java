package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.model.llm.ForwardObserver;
import dev.internvl.mesh.model.llm.ImageSplice;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.KvCacheFullException;
import dev.internvl.mesh.model.llm.KvSequence;
import dev.internvl.mesh.model.llm.LogitRows;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.model.llm.StepInput;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The checks text ({@code llm_cases}) and multimodal ({@code mm_cases}) golden cases share. The prompt goes
 * through the model in chunks over the paged KV cache with logits at every position; then greedy decoding continues
 * from the cache. Every tensor of the golden file is compared that it holds: {@code logits_last}, {@code logsumexp},
 * {@code top10_ids}/{@code top10_logits}, {@code probe_logits}, {@code final_hidden} or
 * {@code final_hidden_sel}/{@code final_hidden_positions}, {@code layer_hidden}, and the {@code greedy_*} tensors.
 */
public final class LlmCaseCheck {
    /** Prompt positions per forward step: several chunks for long prompts, [chunk, vocab] logits stay small. */
    public static final int PROMPT_CHUNK = 128;
    private static final int BLOCK_SIZE = 16;
    private static final int TOP = 10;
    /** Neighbouring logits closer than this may swap places in a top-10 list. */
    private static final double TIE_GAP = 1e-4;

    private final double logitsAtol;
    private final double logsumexpAtol;
    private final double hiddenAtol;
    private final int[] probeIds;

    public LlmCaseCheck(GoldenSet set) {
        this.logitsAtol = set.tolerance("logits_atol", 2e-4);
        this.logsumexpAtol = set.tolerance("logsumexp_atol", logitsAtol);
        this.hiddenAtol = set.tolerance("final_hidden_atol", 1e-4);
        this.probeIds = ints(set.manifest().path("probe_ids"));
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /** What the prompt pass records at each position. */
    private final class PromptRecord {
        final int positions;
        final int hidden;
        final float[] logsumexp;
        final int[] topIds;
        final float[] topLogits;
        final float[] probes;
        final float[] finalHidden;
        final float[] layerHidden;
        float[] lastLogits;

        PromptRecord(int positions, int hidden, int layers, boolean keepLayers) {
            this.positions = positions;
            this.hidden = hidden;
            logsumexp = new float[positions];
            topIds = new int[positions * (TOP + 1)];
            topLogits = new float[positions * (TOP + 1)];
            probes = new float[positions * probeIds.length];
            finalHidden = new float[positions * hidden];
            layerHidden = keepLayers ? new float[(layers + 1) * positions * hidden] : null;
        }
    }

    /**
     * Runs {@code prompt} (image rows spliced in when {@code splice} is not null) and {@code greedySteps} greedy
     * tokens through {@code model}, recording every comparison with {@code expected} into {@code out}.
     */
    public void check(CaseBuilder out, Qwen2Model model, int[] prompt, ImageSplice splice, int greedySteps,
                      SafetensorsFile expected) throws KvCacheFullException {
        int vocab = model.config().vocabSize();
        int blocks = (prompt.length + greedySteps + BLOCK_SIZE - 1) / BLOCK_SIZE + 1;
        KvBlockPool cache = model.newKvCache(BLOCK_SIZE, blocks);
        KvSequence sequence = cache.newSequence();
        try {
            // Layers that run in shard processes are not observable one by one: layer_hidden is then not compared.
            PromptRecord record = runPrompt(model, prompt, splice, sequence, expected.contains("layer_hidden") && model.observesLayers());
            comparePrompt(out, record, expected, vocab);
            compareGreedy(out, model, sequence, record.lastLogits, greedySteps, expected, vocab);
        } finally {
            sequence.release();
        }
    }

    private PromptRecord runPrompt(Qwen2Model model, int[] prompt, ImageSplice splice, KvSequence sequence,
                                   boolean keepLayers) throws KvCacheFullException {
        int h = model.config().hiddenSize();
        int vocab = model.config().vocabSize();
        PromptRecord rec = new PromptRecord(prompt.length, h, model.config().numLayers(), keepLayers);
        for (int from = 0; from < prompt.length; from += PROMPT_CHUNK) {
            int to = Math.min(prompt.length, from + PROMPT_CHUNK);
            int first = from;
            ForwardObserver observer = new ForwardObserver() {
                @Override
                public void residual(int index, float[] x, int rows, int dim) {
                    if (rec.layerHidden != null) {
                        System.arraycopy(x, 0, rec.layerHidden, (index * rec.positions + first) * h, rows * h);
                    }
                }

                @Override
                public boolean wantsFinalHidden() {
                    return true;
                }

                @Override
                public void finalHidden(float[] hidden, int rows, int dim) {
                    System.arraycopy(hidden, 0, rec.finalHidden, first * h, rows * h);
                }
            };
            var input = new StepInput(sequence, model.embed(prompt, from, to, splice), to - from, LogitRows.ALL);
            float[] logits = model.forward(List.of(input), observer).getFirst();
            for (int r = 0; r < to - from; r++) {
                int pos = from + r;
                int off = r * vocab;
                rec.logsumexp[pos] = (float) logSumExp(logits, off, vocab);
                top(logits, off, vocab, rec.topIds, rec.topLogits, pos * (TOP + 1));
                for (int p = 0; p < probeIds.length; p++) {
                    rec.probes[pos * probeIds.length + p] = logits[off + probeIds[p]];
                }
            }
            if (to == prompt.length) {
                rec.lastLogits = Arrays.copyOfRange(logits, (to - from - 1) * vocab, (to - from) * vocab);
            }
        }
        return rec;
    }

    private void comparePrompt(CaseBuilder out, PromptRecord rec, SafetensorsFile expected, int vocab) {
        int s = rec.positions;
        if (expected.contains("logits_last")) {
            out.maxAbs("logits_last", rec.lastLogits, expected.tensor("logits_last").toFloatArray(), logitsAtol);
        }
        if (expected.contains("logsumexp")) {
            out.maxAbs("logsumexp", rec.logsumexp, expected.tensor("logsumexp").toFloatArray(), logsumexpAtol);
        }
        if (expected.contains("probe_logits")) {
            out.maxAbs("probe_logits", rec.probes, expected.tensor("probe_logits").toFloatArray(), logitsAtol);
        }
        if (expected.contains("final_hidden")) {
            out.maxAbs("final_hidden", rec.finalHidden, expected.tensor("final_hidden").toFloatArray(), hiddenAtol);
        }
        if (expected.contains("final_hidden_sel") && expected.contains("final_hidden_positions")) {
            int[] positions = expected.tensor("final_hidden_positions").toIntArray();
            float[] selected = new float[positions.length * rec.hidden];
            for (int i = 0; i < positions.length; i++) {
                System.arraycopy(rec.finalHidden, positions[i] * rec.hidden, selected, i * rec.hidden, rec.hidden);
            }
            out.maxAbs("final_hidden_sel", selected, expected.tensor("final_hidden_sel").toFloatArray(), hiddenAtol);
        }
        if (rec.layerHidden != null) {
            out.maxAbs("layer_hidden", rec.layerHidden, expected.tensor("layer_hidden").toFloatArray(), hiddenAtol);
        }
        if (expected.contains("top10_ids") && expected.contains("top10_logits")) {
            int[] ids = expected.tensor("top10_ids").toIntArray();
            float[] logits = expected.tensor("top10_logits").toFloatArray();
            if (ids.length != s * TOP || logits.length != s * TOP) {
                out.fail("top10 tensors hold " + ids.length + " entries for " + s + " positions");
                return;
            }
            float[] ours = new float[s * TOP];
            int mismatches = 0;
            String first = null;
            for (int pos = 0; pos < s; pos++) {
                System.arraycopy(rec.topLogits, pos * (TOP + 1), ours, pos * TOP, TOP);
                String why = compareTop(rec.topIds, rec.topLogits, pos * (TOP + 1), ids, logits, pos * TOP);
                if (why != null) {
                    mismatches++;
                    if (first == null) {
                        first = "position " + pos + ": " + why;
                    }
                }
            }
            out.maxAbs("top10_logits", ours, logits, logitsAtol);
            if (mismatches > 0) {
                out.fail("top10_ids differ at " + mismatches + " positions, first at " + first);
            }
        }
    }

    private void compareGreedy(CaseBuilder out, Qwen2Model model, KvSequence sequence, float[] promptLogits,
                               int steps, SafetensorsFile expected, int vocab) throws KvCacheFullException {
        int[] ids = new int[steps];
        float[] chosen = new float[steps];
        float[] runnerUp = new float[steps];
        float[] lse = new float[steps];
        float[] probes = new float[steps * probeIds.length];
        int[] best = new int[TOP + 1];
        float[] bestLogits = new float[TOP + 1];
        float[] logits = promptLogits;
        for (int step = 0; step < steps; step++) {
            top(logits, 0, vocab, best, bestLogits, 0);
            ids[step] = best[0];
            chosen[step] = bestLogits[0];
            runnerUp[step] = bestLogits[1];
            lse[step] = (float) logSumExp(logits, 0, vocab);
            for (int p = 0; p < probeIds.length; p++) {
                probes[step * probeIds.length + p] = logits[probeIds[p]];
            }
            if (step + 1 < steps) {
                logits = model.decode(List.of(sequence), new int[]{ids[step]}).getFirst();
            }
        }
        if (expected.contains("greedy_ids")) {
            out.exact("greedy_ids", ids, expected.tensor("greedy_ids").toIntArray());
        }
        if (expected.contains("greedy_chosen_logit")) {
            out.maxAbs("greedy_chosen_logit", chosen, expected.tensor("greedy_chosen_logit").toFloatArray(), logitsAtol);
        }
        if (expected.contains("greedy_runnerup_logit")) {
            out.maxAbs("greedy_runnerup_logit", runnerUp, expected.tensor("greedy_runnerup_logit").toFloatArray(), logitsAtol);
        }
        if (expected.contains("greedy_logsumexp")) {
            out.maxAbs("greedy_logsumexp", lse, expected.tensor("greedy_logsumexp").toFloatArray(), logsumexpAtol);
        }
        if (expected.contains("greedy_probe_logits")) {
            out.maxAbs("greedy_probe_logits", probes, expected.tensor("greedy_probe_logits").toFloatArray(), logitsAtol);
        }
    }

    static double logSumExp(float[] logits, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp((double) logits[off + i] - max);
        }
        return max + Math.log(sum);
    }

    /**
     * The {@code TOP + 1} largest of {@code logits[off .. off+n)}, descending, the lowest id first among equal
     * values (the reference's argmax rule), into {@code ids}/{@code values} at {@code at}.
     */
    static void top(float[] logits, int off, int n, int[] ids, float[] values, int at) {
        int k = TOP + 1;
        Arrays.fill(values, at, at + k, Float.NEGATIVE_INFINITY);
        Arrays.fill(ids, at, at + k, -1);
        for (int i = 0; i < n; i++) {
            float v = logits[off + i];
            if (v <= values[at + k - 1]) {
                continue;
            }
            int j = k - 1;
            while (j > 0 && v > values[at + j - 1]) {
                values[at + j] = values[at + j - 1];
                ids[at + j] = ids[at + j - 1];
                j--;
            }
            values[at + j] = v;
            ids[at + j] = i;
        }
    }

    /**
     * Compares our ranked ids with the expected top 10. Runs of expected entries whose neighbours differ by less than
     * {@link #TIE_GAP} compare as sets; a run at the end may trade places with our 11th entry when ours are that
     * close too. Returns null when they agree, else a description.
     */
    static String compareTop(int[] ourIds, float[] ourLogits, int ours, int[] expIds, float[] expLogits, int exp) {
        int start = 0;
        for (int r = 1; r <= TOP; r++) {
            if (r < TOP && expLogits[exp + r - 1] - expLogits[exp + r] < TIE_GAP) {
                continue;
            }
            int end = r - 1;
            boolean open = end == TOP - 1 && ourLogits[ours + TOP - 1] - ourLogits[ours + TOP] < TIE_GAP;
            Set<Integer> want = new HashSet<>();
            for (int i = start; i <= end; i++) {
                want.add(expIds[exp + i]);
            }
            Set<Integer> got = new HashSet<>();
            for (int i = start; i <= (open ? TOP : end); i++) {
                got.add(ourIds[ours + i]);
            }
            if (open ? !got.containsAll(want) : !got.equals(want)) {
                return String.format(Locale.ROOT, "ranks %d-%d: got %s, expected %s", start, end, got, want);
            }
            start = r;
        }
        return null;
    }
}
