package dev.internvl.mesh.engine;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.SafetensorsFile;
import dev.internvl.mesh.model.llm.ImageSplice;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.sampling.FinishReason;
import dev.internvl.mesh.sampling.SamplingParams;
import dev.internvl.mesh.testing.TestData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerationEngineTest {
    static Checkpoint checkpoint;
    static Qwen2Model model;
    static JsonNode manifest;

    @BeforeAll
    static void load() {
        checkpoint = Checkpoint.open(TestData.golden().resolve("checkpoints/tiny-300m-style"));
        model = Qwen2Model.load(checkpoint);
        manifest = TestData.json(TestData.golden().resolve("manifest.json"));
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    /** Collects one request's output. */
    static final class Collector implements GenerationListener {
        final List<Integer> ids = new ArrayList<>();
        final List<Double> logprobs = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final CompletableFuture<FinishReason> done = new CompletableFuture<>();
        volatile Usage usage;

        @Override
        public void onToken(GeneratedToken token) {
            if (token.tokenId() != GeneratedToken.TEXT_ONLY) {
                ids.add(token.tokenId());
                logprobs.add(token.logprob());
            }
            text.append(token.text());
        }

        @Override
        public void onFinished(FinishReason reason, Usage usage) {
            this.usage = usage;
            done.complete(reason);
        }

        @Override
        public void onFailed(Throwable error) {
            done.completeExceptionally(error);
        }

        int[] ids() throws Exception {
            done.get(60, TimeUnit.SECONDS);
            return ids.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    static GenerationEngine engine(int blocks, EngineSettings settings, int... stopIds) {
        KvBlockPool cache = model.newKvCache(16, blocks);
        return new GenerationEngine(model, cache, settings, () -> TestData.tokenizer().streamDecoder(true), stopIds);
    }

    static SamplingParams greedy(int tokens) {
        return SamplingParams.builder().temperature(0).maxNewTokens(tokens).logprobs(true).build();
    }

    static JsonNode llmCase(String id) {
        for (JsonNode c : manifest.get("llm_cases")) {
            if (c.get("id").asText().equals(id)) {
                return c;
            }
        }
        throw new AssertionError(id);
    }

    @Test
    void greedyOutputEqualsTheGoldenAcrossPrefillChunks() throws Exception {
        JsonNode c = llmCase("tiny-300m-style/llm_random_300");
        try (GenerationEngine engine = engine(64, new EngineSettings(8, 64, 128, 16))) {
            Collector out = new Collector();
            engine.submit(GenerationRequest.text("a", TestData.ints(c.get("input_ids")), greedy(16)), out);
            assertArrayEquals(TestData.ints(c.get("greedy_ids")), out.ids());
            assertEquals(FinishReason.LENGTH, out.done.get());
            assertEquals(300, out.usage.promptTokens());
            assertEquals(16, out.usage.completionTokens());
            assertEquals(engine.cache().blockCount(), engine.cache().freeBlocks(), "every block returned");
        }
    }

    @Test
    void multimodalGreedyEqualsTheGolden() throws Exception {
        JsonNode c = null;
        for (JsonNode m : manifest.get("mm_cases")) {
            if (m.get("checkpoint").asText().equals("tiny-300m-style")) {
                c = m;
            }
        }
        JsonNode vision = null;
        for (JsonNode v : manifest.get("vision_cases")) {
            if (v.get("id").asText().equals(c.get("vision_case").asText())) {
                vision = v;
            }
        }
        JsonNode compact = c.get("input_ids_compact");
        int[] prefix = TestData.ints(compact.get("prefix"));
        int[] suffix = TestData.ints(compact.get("suffix"));
        int count = compact.get("img_context_count").asInt();
        int[] prompt = new int[prefix.length + count + suffix.length];
        System.arraycopy(prefix, 0, prompt, 0, prefix.length);
        java.util.Arrays.fill(prompt, prefix.length, prefix.length + count, compact.get("img_context_id").asInt());
        System.arraycopy(suffix, 0, prompt, prefix.length + count, suffix.length);
        float[] embeds;
        try (SafetensorsFile f = SafetensorsFile.open(TestData.golden().resolve(vision.get("file").asText()))) {
            embeds = f.tensor("embeds").toFloatArray();
        }
        try (GenerationEngine engine = engine(64, new EngineSettings(8, 96, 192, 16))) {
            Collector out = new Collector();
            engine.submit(new GenerationRequest("mm", prompt, new ImageSplice(compact.get("img_context_id").asInt(), embeds, count),
                    List.of(new GenerationRequest.ImageRef("camera", count)), greedy(16)), out);
            assertArrayEquals(TestData.ints(c.get("greedy_ids")), out.ids());
        }
    }

    /** Different prompts at once, with chunks and decodes mixed: each gets exactly what it gets alone. */
    @Test
    void concurrentRequestsEachGetTheirOwnGreedyOutput() throws Exception {
        Random random = new Random(5);
        int n = 16;
        int[][] prompts = new int[n][];
        for (int i = 0; i < n; i++) {
            prompts[i] = random.ints(5 + random.nextInt(120), 0, 151_000).toArray();
        }
        int[][] alone = new int[n][];
        try (GenerationEngine engine = engine(256, new EngineSettings(1, 32, 32, 64))) {
            for (int i = 0; i < n; i++) {
                Collector out = new Collector();
                engine.submit(GenerationRequest.text("alone" + i, prompts[i], greedy(12)), out);
                alone[i] = out.ids();
            }
        }
        try (GenerationEngine engine = engine(256, new EngineSettings(16, 32, 64, 64))) {
            List<Collector> outs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Collector out = new Collector();
                outs.add(out);
                engine.submit(GenerationRequest.text("batch" + i, prompts[i], greedy(12)), out);
            }
            for (int i = 0; i < n; i++) {
                assertArrayEquals(alone[i], outs.get(i).ids(), "request " + i);
            }
            assertEquals(engine.cache().blockCount(), engine.cache().freeBlocks());
        }
    }

    /** A cache far smaller than the load: requests wait or are preempted and recomputed, none fails. */
    @Test
    void aSmallCacheQueuesRequestsInsteadOfFailingThem() throws Exception {
        Random random = new Random(9);
        int n = 8;
        int[][] prompts = new int[n][];
        int[][] expected = new int[n][];
        try (GenerationEngine engine = engine(64, new EngineSettings(1, 64, 64, 64))) {
            for (int i = 0; i < n; i++) {
                prompts[i] = random.ints(40 + random.nextInt(40), 0, 151_000).toArray();
                Collector out = new Collector();
                engine.submit(GenerationRequest.text("ref" + i, prompts[i], greedy(20)), out);
                expected[i] = out.ids();
            }
        }
        // 12 blocks of 16 = 192 positions for 8 requests of up to 100 positions each.
        try (GenerationEngine engine = engine(12, new EngineSettings(8, 64, 128, 64))) {
            List<Collector> outs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Collector out = new Collector();
                outs.add(out);
                engine.submit(GenerationRequest.text("small" + i, prompts[i], greedy(20)), out);
            }
            for (int i = 0; i < n; i++) {
                assertArrayEquals(expected[i], outs.get(i).ids(), "request " + i);
            }
            assertEquals(12, engine.cache().freeBlocks());
        }
    }

    @Test
    void cancellingMidStreamFreesTheBlocks() throws Exception {
        try (GenerationEngine engine = engine(64, new EngineSettings(4, 64, 128, 16))) {
            CountDownLatch fiveTokens = new CountDownLatch(5);
            AtomicInteger tokens = new AtomicInteger();
            var handle = engine.submit(GenerationRequest.text("c", new int[]{1, 2, 3, 4, 5, 6, 7, 8}, greedy(100_000)),
                    new GenerationListener() {
                        @Override
                        public void onToken(GeneratedToken token) {
                            tokens.incrementAndGet();
                            fiveTokens.countDown();
                        }

                        @Override
                        public void onFinished(FinishReason reason, Usage usage) {
                        }

                        @Override
                        public void onFailed(Throwable error) {
                        }
                    });
            assertTrue(fiveTokens.await(30, TimeUnit.SECONDS));
            handle.cancel();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (engine.cache().freeBlocks() != 64 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(64, engine.cache().freeBlocks());
            int after = tokens.get();
            Thread.sleep(50);
            assertEquals(after, tokens.get(), "no tokens after cancellation");
            assertEquals(1, engine.stats().cancelled());
        }
    }

    @Test
    void stopsAtTheEndOfTurnTokenWithoutEmittingIt() throws Exception {
        JsonNode c = llmCase("tiny-300m-style/llm_chat_short");
        int[] golden = TestData.ints(c.get("greedy_ids"));
        // Declare the golden's third token an end of turn: generation stops there and does not output it.
        try (GenerationEngine engine = engine(64, EngineSettings.defaults(), golden[7])) {
            Collector out = new Collector();
            engine.submit(GenerationRequest.text("s", TestData.ints(c.get("input_ids")), greedy(16)), out);
            assertArrayEquals(java.util.Arrays.copyOf(golden, 7), out.ids());
            assertEquals(FinishReason.STOP, out.done.get());
            assertEquals(8, out.usage.completionTokens(), "the end-of-turn token counts as generated");
        }
    }

    @Test
    void refusesPromptsThatCanNeverRun() {
        try (GenerationEngine engine = engine(4, new EngineSettings(1, 16, 16, 1))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                    engine.submit(GenerationRequest.text("big", new int[100], greedy(1)), new Collector()));
            assertEquals("the prompt has 100 tokens, more than the KV cache holds (64 positions)", e.getMessage());
            IllegalArgumentException ctx = assertThrows(IllegalArgumentException.class, () ->
                    engine.submit(GenerationRequest.text("ctx", new int[40_000], greedy(1)), new Collector()));
            assertTrue(ctx.getMessage().startsWith("the prompt has 40000 tokens; the model's context is 32768 tokens"), ctx.getMessage());
        }
    }

    @Test
    void aFullQueueRefusesNewRequests() throws Exception {
        try (GenerationEngine engine = engine(64, new EngineSettings(1, 16, 16, 1))) {
            Collector first = new Collector();
            CountDownLatch running = new CountDownLatch(1);
            var handle = engine.submit(GenerationRequest.text("a", new int[]{1, 2, 3}, greedy(100_000)), new GenerationListener() {
                @Override
                public void onToken(GeneratedToken token) {
                    running.countDown();
                }

                @Override
                public void onFinished(FinishReason reason, Usage usage) {
                }

                @Override
                public void onFailed(Throwable error) {
                }
            });
            assertTrue(running.await(30, TimeUnit.SECONDS));
            engine.submit(GenerationRequest.text("b", new int[]{4}, greedy(1)), first);
            EngineOverloadedException e = assertThrows(EngineOverloadedException.class, () ->
                    engine.submit(GenerationRequest.text("c", new int[]{5}, greedy(1)), new Collector()));
            assertEquals("the server is busy: 1 requests are waiting; retry later", e.getMessage());
            handle.cancel();
            assertEquals(1, first.ids().length, "the queued request runs once the first is gone");
        }
    }

    @Test
    void aSharedPrefixIsComputedOnceAndGivesTheSameOutput() throws Exception {
        Random random = new Random(21);
        int[] shared = random.ints(100, 0, 151_000).toArray();
        int[] first = java.util.stream.IntStream.concat(java.util.Arrays.stream(shared), random.ints(7, 0, 151_000)).toArray();
        int[] second = java.util.stream.IntStream.concat(java.util.Arrays.stream(shared), random.ints(9, 0, 151_000)).toArray();
        int[] fresh;
        List<Double> freshLogprobs;
        try (GenerationEngine engine = engine(64, new EngineSettings(4, 32, 64, 16))) {
            Collector out = new Collector();
            engine.submit(GenerationRequest.text("fresh", second, greedy(10)), out);
            fresh = out.ids();
            freshLogprobs = out.logprobs;
            assertEquals(0, out.usage.cachedPromptTokens());
        }
        try (GenerationEngine engine = engine(64, new EngineSettings(4, 32, 64, 16))) {
            Collector a = new Collector();
            engine.submit(GenerationRequest.text("a", first, greedy(10)), a);
            a.ids();
            Collector b = new Collector();
            engine.submit(GenerationRequest.text("b", second, greedy(10)), b);
            assertArrayEquals(fresh, b.ids());
            assertEquals(freshLogprobs, b.logprobs, "bit-identical arithmetic with and without the cached prefix");
            assertEquals(96, b.usage.cachedPromptTokens(), "three whole 32-token chunks of the shared 100 tokens");
            assertEquals(64, engine.cache().freeBlocks(), "cached blocks count as free");
            assertTrue(engine.cache().cachedBlocks() > 0);
        }
    }

    @Test
    void differentImagesNeverShareBlocks() throws Exception {
        int context = 151667;
        int[] prompt = new int[80];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = i >= 8 && i < 72 ? context : 100 + i;
        }
        int width = model.config().hiddenSize();
        float[] rows = new float[64 * width];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (i % 7) * 0.1f;
        }
        ImageSplice splice = new ImageSplice(context, rows, 64);
        try (GenerationEngine engine = engine(64, new EngineSettings(4, 32, 64, 16))) {
            Collector cat = new Collector();
            engine.submit(new GenerationRequest("cat", prompt, splice, List.of(new GenerationRequest.ImageRef("cat", 64)), greedy(2)), cat);
            cat.ids();
            Collector dog = new Collector();
            engine.submit(new GenerationRequest("dog", prompt, splice, List.of(new GenerationRequest.ImageRef("dog", 64)), greedy(2)), dog);
            dog.ids();
            assertEquals(0, dog.usage.cachedPromptTokens(), "the first block already holds image positions");
            Collector catAgain = new Collector();
            engine.submit(new GenerationRequest("cat2", prompt, splice, List.of(new GenerationRequest.ImageRef("cat", 64)), greedy(2)), catAgain);
            catAgain.ids();
            assertEquals(64, catAgain.usage.cachedPromptTokens(), "the same image shares its blocks");
        }
    }
}
