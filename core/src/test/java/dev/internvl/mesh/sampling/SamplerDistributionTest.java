package dev.internvl.mesh.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tokens drawn follow the distribution transformers would sample from. Each test draws many tokens with a fixed
 * seed and compares the counts with probabilities worked out here from the formulas: tokens a processor removes
 * must never appear, and the rest must pass a chi-square goodness-of-fit test at the 0.1% level and lie within a
 * total-variation distance of sqrt(categories / draws), about 2.5 times its expected size. The seeds are fixed, so
 * the outcome is the same on every run.
 */
class SamplerDistributionTest {
    private static final int DRAWS = 200_000;
    private static final int[] NONE = {};
    private static final float[] LOGITS = {0.3f, -0.2f, 1.1f, 0.9f, 0f, 0.5f, -1f, 0.7f, 0.2f, 0.4f};

    private static long[] draw(SamplingParams p, float[] logits, int[] history, int draws) {
        Sampler s = new Sampler(p);
        long[] counts = new long[logits.length];
        for (int i = 0; i < draws; i++) {
            counts[s.sample(logits, history).tokenId()]++;
        }
        return counts;
    }

    /** softmax(v / temperature) over the kept ids; 0 elsewhere. */
    private static double[] softmax(float[] v, double temperature, int... kept) {
        double[] out = new double[v.length];
        double sum = 0;
        for (int i : kept) {
            out[i] = Math.exp(v[i] / temperature);
            sum += out[i];
        }
        for (int i : kept) {
            out[i] /= sum;
        }
        return out;
    }

    private static int[] all(int n) {
        int[] ids = new int[n];
        Arrays.setAll(ids, i -> i);
        return ids;
    }

    private static void assertDrawnFrom(double[] expected, long[] counts) {
        long n = Arrays.stream(counts).sum();
        double chiSquare = 0;
        double tv = 0;
        int categories = 0;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] == 0) {
                assertEquals(0, counts[i], "token " + i + " has probability 0 but was drawn");
                continue;
            }
            double e = expected[i] * n;
            chiSquare += (counts[i] - e) * (counts[i] - e) / e;
            tv += Math.abs(counts[i] / (double) n - expected[i]) / 2;
            categories++;
        }
        String detail = "counts " + Arrays.toString(counts) + " expected " + Arrays.toString(expected);
        double tvLimit = Math.sqrt(categories / (double) n);
        assertTrue(tv < tvLimit, "total variation " + tv + " >= " + tvLimit + ": " + detail);
        if (categories > 1) {
            double limit = chiSquareQuantile999(categories - 1);
            assertTrue(chiSquare < limit, "chi-square " + chiSquare + " >= " + limit + ": " + detail);
        }
    }

    /** The 99.9% quantile of chi-square with df degrees of freedom, by the Wilson-Hilferty approximation. */
    private static double chiSquareQuantile999(int df) {
        double a = 2.0 / (9 * df);
        return df * Math.pow(1 - a + 3.0902 * Math.sqrt(a), 3);
    }

    @Test
    void temperatureOneSamplesTheSoftmax() {
        assertDrawnFrom(softmax(LOGITS, 1, all(10)),
                draw(SamplingParams.builder().seed(11).build(), LOGITS, NONE, DRAWS));
    }

    @Test
    void temperatureHalfSharpensTheSoftmax() {
        assertDrawnFrom(softmax(LOGITS, 0.5, all(10)),
                draw(SamplingParams.builder().seed(12).temperature(0.5).build(), LOGITS, NONE, DRAWS));
    }

    @Test
    void highTemperatureFlattensTheSoftmax() {
        assertDrawnFrom(softmax(LOGITS, 2, all(10)),
                draw(SamplingParams.builder().seed(13).temperature(2).build(), LOGITS, NONE, DRAWS));
    }

    @Test
    void topKDrawsOnlyTheKLargestRenormalised() {
        // The three largest logits are ids 2 (1.1), 3 (0.9) and 7 (0.7).
        long[] counts = draw(SamplingParams.builder().seed(14).topK(3).build(), LOGITS, NONE, DRAWS);
        assertEquals(3, Arrays.stream(counts).filter(c -> c > 0).count());
        assertDrawnFrom(softmax(LOGITS, 1, 2, 3, 7), counts);
    }

    @Test
    void topKWithTemperature() {
        assertDrawnFrom(softmax(LOGITS, 0.7, 2, 3, 7, 5, 9),
                draw(SamplingParams.builder().seed(15).topK(5).temperature(0.7).build(), LOGITS, NONE, DRAWS));
    }

    @Test
    void topPDrawsOnlyTheNucleus() {
        // Sorted probabilities: id 2 .195, 3 .160, 7 .131, 5 .107, 9 .097, 0 .088, 8 .079, 4 .065, 1 .053, 6 .024.
        // Cumulative: .195 .355 .486 .594 .691 .778 .858 .923 .976 1: top_p 0.8 keeps the first seven.
        double[] full = softmax(LOGITS, 1, all(10));
        assertEquals(0.778, full[2] + full[3] + full[7] + full[5] + full[9] + full[0], 0.001);
        assertDrawnFrom(softmax(LOGITS, 1, 2, 3, 7, 5, 9, 0, 8),
                draw(SamplingParams.builder().seed(16).topP(0.8).build(), LOGITS, NONE, DRAWS));
    }

    @Test
    void topPBelowTheLargestProbabilityKeepsOnlyTheArgmax() {
        long[] counts = draw(SamplingParams.builder().seed(17).topP(0.05).build(), LOGITS, NONE, 1000);
        assertEquals(1000, counts[2]);
    }

    @Test
    void topPKeepsWholeGroupsOfTiedTokens() {
        float[] logits = {2f, 1f, 1f, 1f, 0f, 0f};
        // Probabilities .421, .155 x3, .057 x2: .421 + .155 reaches 0.5, and the two other 1.0 logits tie with it.
        assertDrawnFrom(softmax(logits, 1, 0, 1, 2, 3),
                draw(SamplingParams.builder().seed(18).topP(0.5).build(), logits, NONE, DRAWS));
    }

    @Test
    void topKThenTopP() {
        // top-k 5 leaves ids 2 3 7 5 9 with probabilities .283 .232 .190 .155 .140 (cumulative .283 .515 .704 .860):
        // top_p 0.7 keeps three.
        assertDrawnFrom(softmax(LOGITS, 1, 2, 3, 7),
                draw(SamplingParams.builder().seed(19).topK(5).topP(0.7).build(), LOGITS, NONE, DRAWS));
    }

    @Test
    void repetitionPenaltyOnPositiveAndNegativeLogits() {
        int[] history = {2, 6, 2, 4};
        float[] penalised = LOGITS.clone();
        penalised[2] = 1.1f / 1.5f;
        penalised[6] = -1f * 1.5f;
        penalised[4] = 0f;
        assertDrawnFrom(softmax(penalised, 1, all(10)),
                draw(SamplingParams.builder().seed(20).repetitionPenalty(1.5f).build(), LOGITS, history, DRAWS));
    }

    @Test
    void repetitionPenaltyThenTemperatureThenTopK() {
        // Penalised: id 2 becomes 0.55, so the top three are 3 (0.9), 7 (0.7) and 2 (0.55) over 5 (0.5).
        int[] history = {2};
        float[] penalised = LOGITS.clone();
        penalised[2] = 1.1f / 2f;
        assertDrawnFrom(softmax(penalised, 0.5, 3, 7, 2),
                draw(SamplingParams.builder().seed(21).repetitionPenalty(2).temperature(0.5).topK(3).build(),
                        LOGITS, history, DRAWS));
    }

    @Test
    void drawsAcrossTheBlocksOfALargeVocabulary() {
        // Live tokens at block edges (blocks are 1024 tokens) and at the end of a vocabulary of 4500.
        float[] logits = new float[4500];
        Arrays.fill(logits, Float.NEGATIVE_INFINITY);
        int[] live = {0, 1023, 1024, 2047, 3000, 4499};
        float[] values = {0.2f, 1f, -0.5f, 0.6f, 0f, 0.9f};
        for (int j = 0; j < live.length; j++) {
            logits[live[j]] = values[j];
        }
        double[] expected = softmax(logits, 1, live);
        assertDrawnFrom(expected, draw(SamplingParams.builder().seed(22).build(), logits, NONE, 10_000));
    }
}
