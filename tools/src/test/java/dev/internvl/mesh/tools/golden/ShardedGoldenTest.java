package dev.internvl.mesh.tools.golden;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.model.llm.ForwardObserver;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.KvSequence;
import dev.internvl.mesh.model.llm.LogitRows;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.model.llm.StepInput;
import dev.internvl.mesh.tools.demo.DemoCheckpoint;
import dev.internvl.mesh.tools.demo.ModelShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The language model with its decoder layers in layer-shard processes (F32 hidden states on the wire) passes the
 * golden model cases and computes what the single-process model computes.
 */
class ShardedGoldenTest {
    @TempDir
    Path tmp;

    @Test
    void goldenModelCasesPassThroughOneAndTwoShardProcesses() {
        GoldenSet set = EngineSuitesTest.fixtures();
        int expected = set.cases(LlmSuite.KEY).size() + set.cases("mm_cases").size();
        // The golden checkpoints have two decoder layers: two shards of one layer each is as far as they split.
        for (int shards : new int[]{1, 2}) {
            List<CaseResult> results = new ArrayList<>();
            try (LanguageModels models = new ShardedLanguageModels(shards)) {
                for (GoldenSuite suite : GoldenCheck.modelSuites(models)) {
                    suite.run(set, results::add);
                }
            }
            assertEquals(expected, results.size());
            for (CaseResult r : results) {
                assertTrue(r.passed(), shards + " shards: " + r.line());
            }
        }
    }

    @Test
    void fourShardProcessesGiveTheGreedyIdsAndLogitsOfOneProcess() throws Exception {
        Path dir = tmp.resolve("small");
        // Sharded safetensors files, as hub checkpoints of large models come: each shard maps only its files.
        new DemoCheckpoint(11, 4 << 20).generate(DemoCheckpoint.hubConfig(ModelShape.named("small")),
                Path.of("../testdata/golden/tokenizer/internvl2_5-qwen2"), dir);
        int[] prompt = new Random(2).ints(70, 0, 150_000).toArray();
        try (Checkpoint checkpoint = Checkpoint.open(dir); LanguageModels sharded = new ShardedLanguageModels(4)) {
            Greedy one = greedy(LanguageModels.IN_PROCESS.open(checkpoint), prompt, 12);
            Greedy four = greedy(sharded.open(checkpoint), prompt, 12);
            assertArrayEquals(one.ids(), four.ids());
            assertArrayEquals(one.logits(), four.logits(), "F32 on the wire: the same arithmetic, the same bits");
        }
    }

    private record Greedy(int[] ids, float[] logits) {
    }

    /** The prompt in chunks of 32, then greedy steps; the ids and every step's logits. */
    private static Greedy greedy(Qwen2Model model, int[] prompt, int steps) throws Exception {
        int vocab = model.config().vocabSize();
        KvBlockPool cache = model.newKvCache(16, 16);
        KvSequence seq = cache.newSequence();
        float[] logits = null;
        for (int from = 0; from < prompt.length; from += 32) {
            int to = Math.min(prompt.length, from + 32);
            logits = model.forward(List.of(new StepInput(seq, model.embed(prompt, from, to, null), to - from, LogitRows.LAST)),
                    ForwardObserver.NONE).getFirst();
        }
        int[] ids = new int[steps];
        float[] all = new float[steps * vocab];
        for (int s = 0; s < steps; s++) {
            System.arraycopy(logits, 0, all, s * vocab, vocab);
            int best = 0;
            for (int i = 1; i < vocab; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            ids[s] = best;
            logits = model.forward(List.of(new StepInput(seq, model.embed(new int[]{best}, 0, 1, null), 1, LogitRows.LAST)),
                    ForwardObserver.NONE).getFirst();
        }
        seq.release();
        assertEquals(cache.blockCount(), cache.freeBlocks(), "no KV block leaks");
        return new Greedy(ids, all);
    }
}
