package dev.internvl.mesh.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Exact behaviour on small hand-computed cases: greedy, each processor, logprobs, seeds, errors. */
class SamplerTest {
    private static final int[] NONE = {};

    private static SamplingParams.Builder params() {
        return SamplingParams.builder().seed(1);
    }

    private static int greedy(float[] logits, int[] history, double penalty) {
        return new Sampler(params().temperature(0).repetitionPenalty(penalty).build()).sample(logits, history).tokenId();
    }

    /** The processed distribution as a dense array. */
    private static double[] probabilities(SamplingParams p, float[] logits, int... history) {
        Sampler.Distribution d = new Sampler(p).distribution(logits, history, history.length);
        double[] out = new double[logits.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = d.probability(i);
        }
        return out;
    }

    /** exp(v) / sum of exp over the kept ids, 0 elsewhere. */
    private static double[] softmaxOver(double[] v, int... kept) {
        double sum = 0;
        for (int i : kept) {
            sum += Math.exp(v[i]);
        }
        double[] out = new double[v.length];
        for (int i : kept) {
            out[i] = Math.exp(v[i]) / sum;
        }
        return out;
    }

    private static double[] widen(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    /** Logits whose softmax is the given distribution. */
    private static float[] logitsOf(double... probabilities) {
        float[] out = new float[probabilities.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) Math.log(probabilities[i]);
        }
        return out;
    }

    private static void assertProbabilities(double[] expected, double[] actual) {
        assertArrayEquals(expected, actual, 1e-12, () -> "expected " + Arrays.toString(expected) + " got " + Arrays.toString(actual));
    }

    // --- greedy ---

    @Test
    void greedyPicksTheArgmax() {
        assertEquals(1, greedy(new float[]{0.1f, 2.0f, -1f, 1.9f}, NONE, 1));
        assertEquals(3, greedy(new float[]{-5f, -3f, -4f, -0.5f}, NONE, 1));
    }

    @Test
    void greedyBreaksTiesTowardsTheLowestId() {
        assertEquals(1, greedy(new float[]{1f, 3f, 3f, 2f, 3f}, NONE, 1));
        assertEquals(0, greedy(new float[]{7f, 7f}, NONE, 1));
    }

    @Test
    void greedyIsTheFirstLargestWhereverItLiesInALongVocabulary() {
        java.util.Random r = new java.util.Random(11);
        for (int n : new int[]{1, 15, 16, 17, 33, 1000, 151_674}) {
            for (int trial = 0; trial < 20; trial++) {
                float[] logits = new float[n];
                for (int i = 0; i < n; i++) {
                    logits[i] = (float) Math.round(r.nextGaussian() * 8) / 4; // coarse: ties, and 0 next to -0
                    if (logits[i] == 0 && r.nextBoolean()) {
                        logits[i] = -0f;
                    }
                }
                if (trial % 4 == 0) {
                    logits[r.nextInt(n)] = 100; // a lone peak anywhere: in a vector, at a vector's edge, in the tail
                }
                int expected = 0;
                for (int i = 1; i < n; i++) {
                    if (logits[i] > logits[expected]) {
                        expected = i;
                    }
                }
                assertEquals(expected, greedy(logits, NONE, 1), "n " + n + " trial " + trial);
            }
        }
    }

    @Test
    void greedyIgnoresSeedTopKAndTopPButNotThePenalty() {
        float[] logits = {2.0f, 1.9f, 0.5f};
        for (long seed = 0; seed < 5; seed++) {
            Sampler s = new Sampler(SamplingParams.builder().temperature(0).topK(2).topP(0.1).seed(seed).build());
            assertEquals(0, s.sample(logits, NONE).tokenId());
        }
        // 2.0 / 1.1 = 1.82 falls below 1.9.
        assertEquals(1, greedy(logits, new int[]{0}, 1.1));
        // -1.0 * 1.1 = -1.1 falls below -1.05.
        assertEquals(1, greedy(new float[]{-1.0f, -1.05f}, new int[]{0}, 1.1));
    }

    @Test
    void greedyUsesOnlyTheFirstCountIdsOfTheSequence() {
        Sampler s = new Sampler(params().temperature(0).repetitionPenalty(2).build());
        float[] logits = {2.0f, 1.9f};
        assertEquals(0, s.sample(logits, new int[]{1, 0}, 1).tokenId());
        assertEquals(1, s.sample(logits, new int[]{0, 1}, 1).tokenId());
        assertEquals(0, s.sample(logits, new int[]{0, 1}, 0).tokenId());
    }

    // --- one processor at a time, by hand ---

    @Test
    void temperatureDividesTheLogits() {
        float[] logits = {1f, 2f, 3f};
        assertProbabilities(softmaxOver(new double[]{2, 4, 6}, 0, 1, 2),
                probabilities(params().temperature(0.5).build(), logits));
        assertProbabilities(softmaxOver(new double[]{1 / 1.5, 2 / 1.5, 3 / 1.5}, 0, 1, 2),
                probabilities(params().temperature(1.5).build(), logits));
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOncePerId() {
        float[] logits = {2f, -1f, 0.5f, 1f, 0f};
        // Ids 0 and 1 seen (0 three times), 4 seen with a zero logit: 2 -> 1, -1 -> -2, 0 stays 0.
        double[] expected = softmaxOver(new double[]{1, -2, 0.5, 1, 0}, 0, 1, 2, 3, 4);
        assertProbabilities(expected, probabilities(params().repetitionPenalty(2).build(), logits, 0, 1, 0, 0, 4));
        // A penalty below 1 rewards repetition: 2 -> 4, -1 -> -0.5.
        assertProbabilities(softmaxOver(new double[]{4, -0.5, 0.5, 1, 0}, 0, 1, 2, 3, 4),
                probabilities(params().repetitionPenalty(0.5).build(), logits, 1, 0));
    }

    @Test
    void repetitionPenaltyComesBeforeTemperature() {
        float[] logits = {2f, -1f, 0.5f};
        assertProbabilities(softmaxOver(new double[]{2 / 4.0 / 0.5, -1 * 4.0 / 0.5, 0.5 / 0.5}, 0, 1, 2),
                probabilities(params().repetitionPenalty(4).temperature(0.5).build(), logits, 0, 1));
    }

    @Test
    void repetitionPenaltyLeavesTheCallersLogitsAlone() {
        float[] logits = {2f, -1f, 0.5f};
        new Sampler(params().repetitionPenalty(3).build()).sample(logits, new int[]{0, 1});
        assertArrayEquals(new float[]{2f, -1f, 0.5f}, logits);
    }

    @Test
    void topKKeepsTheKLargestAndRenormalises() {
        float[] logits = {1f, 4f, 3f, 2f, -1f};
        assertProbabilities(softmaxOver(widen(logits), 1, 2), probabilities(params().topK(2).build(), logits));
        assertProbabilities(softmaxOver(widen(logits), 1), probabilities(params().topK(1).build(), logits));
        // k at or above the vocabulary size keeps everything.
        assertProbabilities(softmaxOver(widen(logits), 0, 1, 2, 3, 4), probabilities(params().topK(5).build(), logits));
        assertProbabilities(softmaxOver(widen(logits), 0, 1, 2, 3, 4), probabilities(params().topK(99).build(), logits));
    }

    @Test
    void topKKeepsTokensTiedWithTheKth() {
        float[] logits = {1f, 3f, 3f, 3f, 0f};
        assertProbabilities(new double[]{0, 1 / 3.0, 1 / 3.0, 1 / 3.0, 0}, probabilities(params().topK(2).build(), logits));
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        float[] logits = logitsOf(0.5, 0.25, 0.15, 0.1);
        double[] v = widen(logits);
        // 0.5 < 0.7 <= 0.75
        assertProbabilities(softmaxOver(v, 0, 1), probabilities(params().topP(0.7).build(), logits));
        // 0.75 < 0.76 <= 0.9
        assertProbabilities(softmaxOver(v, 0, 1, 2), probabilities(params().topP(0.76).build(), logits));
        assertProbabilities(softmaxOver(v, 0, 1, 2, 3), probabilities(params().topP(0.95).build(), logits));
        // The most likely token alone reaches 0.4.
        assertProbabilities(softmaxOver(v, 0), probabilities(params().topP(0.4).build(), logits));
    }

    @Test
    void topPKeepsAtLeastOneToken() {
        float[] logits = logitsOf(0.9, 0.05, 0.05);
        assertProbabilities(new double[]{1, 0, 0}, probabilities(params().topP(1e-6).build(), logits));
    }

    @Test
    void topPKeepsTokensTiedWithTheLastOneKept() {
        float[] logits = logitsOf(0.4, 0.2, 0.2, 0.1, 0.1);
        // 0.4 + one 0.2 reaches 0.5; the other 0.2 ties with it and stays.
        assertProbabilities(softmaxOver(widen(logits), 0, 1, 2), probabilities(params().topP(0.5).build(), logits));
        // Every token tied: nothing can be dropped.
        assertProbabilities(new double[]{0.25, 0.25, 0.25, 0.25},
                probabilities(params().topP(0.1).build(), new float[]{3f, 3f, 3f, 3f}));
    }

    @Test
    void topPSeesTheDistributionTopKLeft() {
        float[] logits = logitsOf(0.4, 0.3, 0.2, 0.1);
        // After top-k 3 the probabilities are 4/9, 3/9, 2/9: two tokens reach 0.75 (7/9). On the full distribution
        // they would not (0.7), which would keep a third.
        assertProbabilities(softmaxOver(widen(logits), 0, 1),
                probabilities(params().topK(3).topP(0.75).build(), logits));
    }

    @Test
    void topPSeesTheDistributionTemperatureMade() {
        float[] logits = logitsOf(0.5, 0.3, 0.2);
        // At T = 0.5 the first token has 0.25 / 0.38 = 0.66 >= 0.6; at T = 1 it would need the second.
        assertProbabilities(new double[]{1, 0, 0}, probabilities(params().temperature(0.5).topP(0.6).build(), logits));
    }

    @Test
    void negativeInfinityLogitsAreNeverChosen() {
        float ninf = Float.NEGATIVE_INFINITY;
        float[] logits = {ninf, 0f, ninf, 0f, ninf};
        assertProbabilities(new double[]{0, 0.5, 0, 0.5, 0}, probabilities(params().build(), logits));
        Sampler s = new Sampler(params().build());
        for (int i = 0; i < 200; i++) {
            int id = s.sample(logits, NONE).tokenId();
            assertTrue(id == 1 || id == 3, "drew " + id);
        }
    }

    // --- logprobs ---

    @Test
    void logprobIsTheLogSoftmaxOfTheRawLogitsWhateverTheParameters() {
        float[] logits = {1f, 4f, 3f, 2f, -1f};
        double logZ = Math.log(Arrays.stream(widen(logits)).map(Math::exp).sum());
        List<SamplingParams> all = List.of(
                params().logprobs(true).build(),
                params().logprobs(true).temperature(0).build(),
                params().logprobs(true).temperature(0.3).topK(2).build(),
                params().logprobs(true).topP(0.5).repetitionPenalty(1.7).build());
        for (SamplingParams p : all) {
            Sampler s = new Sampler(p);
            for (int i = 0; i < 20; i++) {
                SampledToken t = s.sample(logits, new int[]{1, 2});
                assertEquals(logits[t.tokenId()] - logZ, t.logprob(), 1e-12, p.toString());
                assertEquals(List.of(), t.topLogprobs());
            }
        }
    }

    @Test
    void logprobsAreLeftOutUnlessAsked() {
        float[] logits = {1f, 4f, 3f, 2f, -1f};
        SampledToken greedy = new Sampler(params().temperature(0).build()).sample(logits, NONE);
        assertEquals(1, greedy.tokenId());
        assertTrue(Double.isNaN(greedy.logprob()));
        assertEquals(List.of(), greedy.topLogprobs());
        // Alternatives alone still come with their logprobs (the chosen token's is left to the caller to show).
        SampledToken alternatives = new Sampler(params().temperature(0).topLogprobs(2).build()).sample(logits, NONE);
        double logZ = Math.log(Arrays.stream(widen(logits)).map(Math::exp).sum());
        assertEquals(List.of(1, 2), alternatives.topLogprobs().stream().map(TokenLogprob::tokenId).toList());
        assertEquals(4 - logZ, alternatives.topLogprobs().getFirst().logprob(), 1e-12);
    }

    @Test
    void topLogprobsAreTheMostLikelyTokensLowestIdFirstAmongEquals() {
        float[] logits = {1f, 5f, 3f, 5f, 2f};
        double logZ = Math.log(Arrays.stream(widen(logits)).map(Math::exp).sum());
        SampledToken t = new Sampler(params().temperature(0).topLogprobs(3).build()).sample(logits, NONE);
        assertEquals(1, t.tokenId());
        assertEquals(List.of(1, 3, 2), t.topLogprobs().stream().map(TokenLogprob::tokenId).toList());
        for (TokenLogprob lp : t.topLogprobs()) {
            assertEquals(logits[lp.tokenId()] - logZ, lp.logprob(), 1e-12);
        }
        // More alternatives than tokens: all of them, in order.
        SampledToken all = new Sampler(params().topLogprobs(20).build()).sample(logits, NONE);
        assertEquals(List.of(1, 3, 2, 4, 0), all.topLogprobs().stream().map(TokenLogprob::tokenId).toList());
    }

    @Test
    void topLogprobsOverALargeVocabularyMatchASort() {
        java.util.Random r = new java.util.Random(5);
        float[] logits = new float[50_000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) Math.round(r.nextGaussian() * 40) / 8; // coarse, so that ties occur
        }
        Integer[] ids = new Integer[logits.length];
        Arrays.setAll(ids, i -> i);
        Arrays.sort(ids, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
        SampledToken t = new Sampler(params().topLogprobs(20).build()).sample(logits, NONE);
        assertEquals(Arrays.asList(ids).subList(0, 20), t.topLogprobs().stream().map(TokenLogprob::tokenId).toList());
    }

    // --- seeds ---

    private static int[] run(SamplingParams p, float[] logits, int n) {
        Sampler s = new Sampler(p);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = s.sample(logits, Arrays.copyOf(out, i)).tokenId();
        }
        return out;
    }

    private static final float[] SPREAD = {0.3f, -0.2f, 1.1f, 0.9f, 0f, 0.5f, -1f, 0.7f, 0.2f, 0.4f};

    @Test
    void theSameSeedGivesTheSameTokens() {
        SamplingParams p = SamplingParams.builder().seed(2024).temperature(0.8).topK(8).topP(0.95)
                .repetitionPenalty(1.05).build();
        assertArrayEquals(run(p, SPREAD, 300), run(p, SPREAD, 300));
    }

    @Test
    void differentSeedsGiveDifferentTokens() {
        SamplingParams.Builder b = SamplingParams.builder().temperature(1);
        assertFalse(Arrays.equals(run(b.seed(1).build(), SPREAD, 100), run(b.seed(2).build(), SPREAD, 100)));
        // Without a seed, each request gets its own.
        assertFalse(Arrays.equals(run(SamplingParams.defaults(), SPREAD, 100), run(SamplingParams.defaults(), SPREAD, 100)));
    }

    @Test
    void aSeedGivesTheSameTokensOnEveryMachineAndRelease() {
        // Pinned: a change here breaks every user's reproducible runs.
        SamplingParams p = SamplingParams.builder().seed(42).build();
        assertArrayEquals(new int[]{7, 2, 2, 3, 0, 8, 2, 7, 3, 5, 2, 3, 4, 4, 5, 2, 1, 3, 1, 6}, run(p, SPREAD, 20));
    }

    // --- errors ---

    @Test
    void badLogitsAndSequencesAreRejected() {
        Sampler s = new Sampler(params().build());
        assertEquals("the logit of token 1 is NaN",
                assertThrows(IllegalArgumentException.class, () -> s.sample(new float[]{0f, Float.NaN}, NONE)).getMessage());
        assertEquals("the logit of token 0 is +Infinity",
                assertThrows(IllegalArgumentException.class,
                        () -> s.sample(new float[]{Float.POSITIVE_INFINITY, 0f}, NONE)).getMessage());
        assertEquals("every logit is -Infinity: there is no token to choose",
                assertThrows(IllegalArgumentException.class,
                        () -> s.sample(new float[]{Float.NEGATIVE_INFINITY}, NONE)).getMessage());
        // The same checks far into a vocabulary: the first NaN is named even after a +Infinity, and +Infinity's first.
        float[] wide = new float[1000];
        wide[700] = Float.POSITIVE_INFINITY;
        wide[900] = Float.POSITIVE_INFINITY;
        assertEquals("the logit of token 700 is +Infinity",
                assertThrows(IllegalArgumentException.class, () -> s.sample(wide, NONE)).getMessage());
        wide[800] = Float.NaN;
        wide[950] = Float.NaN;
        assertEquals("the logit of token 800 is NaN",
                assertThrows(IllegalArgumentException.class, () -> s.sample(wide, NONE)).getMessage());
        float[] hopeless = new float[1000];
        Arrays.fill(hopeless, Float.NEGATIVE_INFINITY);
        assertEquals("every logit is -Infinity: there is no token to choose",
                assertThrows(IllegalArgumentException.class, () -> s.sample(hopeless, NONE)).getMessage());
        assertEquals("logits are empty",
                assertThrows(IllegalArgumentException.class, () -> s.sample(new float[0], NONE)).getMessage());
        assertEquals("token id 3 at position 1 of the sequence is outside the vocabulary of 3 logits",
                assertThrows(IllegalArgumentException.class,
                        () -> s.sample(new float[]{0f, 1f, 2f}, new int[]{0, 3})).getMessage());
        assertEquals("token id -1 at position 0 of the sequence is outside the vocabulary of 3 logits",
                assertThrows(IllegalArgumentException.class,
                        () -> s.sample(new float[]{0f, 1f, 2f}, new int[]{-1})).getMessage());
        assertEquals("count 3 is outside 0..2",
                assertThrows(IllegalArgumentException.class,
                        () -> s.sample(new float[]{0f, 1f, 2f}, new int[]{0, 1}, 3)).getMessage());
    }
}
