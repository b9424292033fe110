package dev.internvl.mesh.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On InternVL 2.5's full vocabulary, the distribution the sampler draws from equals the one a plain implementation
 * of transformers' processors gives (penalise a copy, divide, sort everything, cut, softmax), for shapes of
 * distribution whose nuclei range from a few tokens to nearly the whole vocabulary.
 */
class SamplerReferenceTest {
    private static final int VOCAB = 151_674;

    private static float[] gaussianLogits(long seed, double sigma) {
        Random r = new Random(seed);
        float[] out = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            out[i] = (float) (r.nextGaussian() * sigma);
        }
        return out;
    }

    /** transformers' steps, written the obvious way. */
    private static double[] reference(float[] logits, int[] history, SamplingParams p) {
        float[] x = logits.clone();
        float penalty = (float) p.repetitionPenalty();
        for (int id : history) {
            x[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty;
        }
        double[] scaled = new double[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            scaled[i] = x[i] / p.temperature();
        }
        double[] sorted = scaled.clone();
        Arrays.sort(sorted);
        double max = sorted[VOCAB - 1];
        double threshold = Double.NEGATIVE_INFINITY;
        if (p.topK() > 0 && p.topK() < VOCAB) {
            threshold = sorted[VOCAB - p.topK()];
        }
        if (p.topP() < 1) {
            double total = 0;
            for (double v : scaled) {
                total += v >= threshold ? Math.exp(v - max) : 0;
            }
            double cumulative = 0;
            for (int j = VOCAB - 1; j >= 0 && sorted[j] >= threshold; j--) {
                cumulative += Math.exp(sorted[j] - max) / total;
                if (cumulative >= p.topP()) {
                    threshold = sorted[j];
                    break;
                }
            }
        }
        double[] probabilities = new double[VOCAB];
        double sum = 0;
        for (int i = 0; i < VOCAB; i++) {
            if (scaled[i] >= threshold) {
                probabilities[i] = Math.exp(scaled[i] - max);
                sum += probabilities[i];
            }
        }
        for (int i = 0; i < VOCAB; i++) {
            probabilities[i] /= sum;
        }
        return probabilities;
    }

    /** Compares every token's probability; returns how many tokens are kept. */
    private static int assertSameDistribution(float[] logits, int[] history, SamplingParams p) {
        double[] expected = reference(logits, history, p);
        Sampler.Distribution d = new Sampler(p).distribution(logits, history, history.length);
        int kept = 0;
        for (int i = 0; i < VOCAB; i++) {
            double actual = d.probability(i);
            if (expected[i] == 0) {
                assertEquals(0, actual, "token " + i + " should be cut with " + p);
            } else {
                kept++;
                assertEquals(expected[i], actual, expected[i] * 1e-9, "token " + i + " with " + p);
            }
        }
        return kept;
    }

    @Test
    void peakedDistributionWithASmallNucleus() {
        float[] logits = gaussianLogits(1, 4);
        int kept = assertSameDistribution(logits, new int[0], SamplingParams.builder().topP(0.9).build());
        assertTrue(kept < 256, "nucleus of " + kept);
    }

    @Test
    void broadDistributionWithANucleusOfThousands() {
        float[] logits = gaussianLogits(2, 3);
        int kept = assertSameDistribution(logits, new int[0], SamplingParams.builder().topP(0.9).temperature(1.2).build());
        assertTrue(kept > 256 && kept < 65_536, "nucleus of " + kept);
    }

    @Test
    void nearlyFlatDistributionWhoseNucleusIsMostOfTheVocabulary() {
        float[] logits = gaussianLogits(3, 0.05);
        int kept = assertSameDistribution(logits, new int[0], SamplingParams.builder().topP(0.95).temperature(2).build());
        assertTrue(kept > 65_536, "nucleus of " + kept);
    }

    @Test
    void everyProcessorTogether() {
        float[] logits = gaussianLogits(4, 5);
        // A history holding the most likely tokens, some several times, as a repetitive output would.
        Integer[] ids = new Integer[VOCAB];
        Arrays.setAll(ids, i -> i);
        Arrays.sort(ids, (a, b) -> Float.compare(logits[b], logits[a]));
        int[] history = new int[600];
        Random r = new Random(4);
        for (int j = 0; j < history.length; j++) {
            history[j] = j % 3 == 0 ? ids[r.nextInt(30)] : r.nextInt(VOCAB);
        }
        for (SamplingParams p : new SamplingParams[]{
                SamplingParams.builder().repetitionPenalty(1.3).temperature(0.7).topK(40).topP(0.8).build(),
                SamplingParams.builder().repetitionPenalty(1.05).topK(2000).topP(0.95).build(),
                SamplingParams.builder().repetitionPenalty(0.9).temperature(1.5).build(),
                SamplingParams.builder().topK(1).build()}) {
            assertSameDistribution(logits, history, p);
        }
    }

    @Test
    void drawnTokensComeFromTheKeptSet() {
        float[] logits = gaussianLogits(5, 3);
        SamplingParams p = SamplingParams.builder().seed(9).temperature(0.8).topK(50).topP(0.7).build();
        double[] expected = reference(logits, new int[0], p);
        Sampler s = new Sampler(p);
        for (int i = 0; i < 200; i++) {
            int id = s.sample(logits, new int[0]).tokenId();
            assertTrue(expected[id] > 0, "drew token " + id + " outside the nucleus");
        }
    }
}
