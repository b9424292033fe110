package dev.internvl.mesh.sampling;

import dev.internvl.mesh.compute.Exp;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Chooses each next token of one request from the fp32 logits of its last position, as transformers'
 * {@code generate} does, in its order:
 * <ol>
 *   <li>repetition penalty, for every id in the sequence so far (prompt and output): a positive logit is divided by
 *       the penalty, a negative one multiplied; an id seen several times is penalised once;</li>
 *   <li>temperature 0: the argmax of the penalised logits, the lowest id among equals. Otherwise:</li>
 *   <li>temperature: the logits are divided by it;</li>
 *   <li>top-k: tokens below the k-th largest logit are dropped; tokens tied with it stay, as in transformers;</li>
 *   <li>top-p, on the distribution top-k left: the most likely tokens are kept until their probability adds up to
 *       at least top_p (so always at least one); tokens tied with the last one kept stay too, so the result does
 *       not hang on how a sort orders equal values;</li>
 *   <li>a draw from the softmax of what is left.</li>
 * </ol>
 * Probabilities are computed in double with {@link Exp}'s IEEE-exact exp (in vectors, the same bits as in scalar code)
 * and summed in index order, and the uniform numbers come from {@link SplitMix64} seeded with the request's seed (one
 * generator per request, one number per sampled token), so the same seed and logits give the same tokens on every
 * run, JDK and machine.
 *
 * <p>Nothing vocabulary-sized is allocated per token: without a repetition penalty the logits are read in place;
 * with one, they are copied into a buffer this sampler keeps for the request. Top-k uses a k-entry heap; top-p sorts
 * only the few tokens that can be in the nucleus (at most 256, then 65,536, before it falls back to all). The
 * log-softmax normaliser (a pass of exps over the vocabulary) is computed only for requests that report logprobs.
 *
 * <p>Not thread-safe: one sampler per request.
 */
public final class Sampler {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Floats as many as D's lanes: loaded, then widened to doubles. */
    private static final VectorSpecies<Float> HALF = VectorSpecies.of(float.class,
            VectorShape.forBitSize(D.vectorBitSize() / 2));
    /** Tokens per block of the cumulative mass the draw walks, so that it recomputes at most one block. */
    private static final int BLOCK = 1024;
    /** Probability floors of the top-p candidate rounds: at most 1/floor tokens can reach each; 0 takes them all. */
    private static final double[] NUCLEUS_ROUNDS = {0x1p-8, 0x1p-16, 0};

    private final SamplingParams params;
    private final SplitMix64 random;
    private final float penalty;
    private final double invTemperature;

    private float[] penalised;
    private float[] topKHeap;
    private long[] candidates = new long[256];
    private double[] blockMass;
    private final double[] blockWeights = new double[BLOCK];

    public Sampler(SamplingParams params) {
        this.params = Objects.requireNonNull(params, "params");
        this.random = new SplitMix64(params.seed().orElseGet(() -> ThreadLocalRandom.current().nextLong()));
        this.penalty = (float) params.repetitionPenalty();
        this.invTemperature = params.greedy() ? 0 : 1 / params.temperature();
    }

    /** {@link #sample(float[], int[], int)} with all of {@code tokenIds} as the sequence so far. */
    public SampledToken sample(float[] logits, int[] tokenIds) {
        return sample(logits, tokenIds, tokenIds.length);
    }

    /**
     * The next token.
     *
     * @param logits   the raw logits of the position, one per vocabulary entry; read, never changed
     * @param tokenIds the sequence so far, prompt then generated tokens, in its first {@code count} entries
     * @throws IllegalArgumentException if a token id is outside the vocabulary, a logit is NaN or +Infinity, or every
     *                                  logit is -Infinity
     */
    public SampledToken sample(float[] logits, int[] tokenIds, int count) {
        float[] values = penalise(logits, tokenIds, count);
        int best = argmax(values);
        Distribution d = null;
        int id = best;
        if (!params.greedy()) {
            d = distribution(values, best);
            id = draw(d);
        }
        if (!params.reportsLogprobs()) {
            return new SampledToken(id, Double.NaN, List.of());
        }
        double logNormaliser = d != null && d.values() == logits && d.invTemperature() == 1
                && d.threshold() == Float.NEGATIVE_INFINITY
                ? d.max() + StrictMath.log(d.mass()) // the sampled distribution is the model's own: reuse its sum
                : logSumExp(logits, values == logits ? best : -1);
        return new SampledToken(id, logits[id] - logNormaliser, topLogprobs(logits, logNormaliser));
    }

    /**
     * The distribution the next token is drawn from, after penalty, temperature, top-k and top-p; for a temperature
     * above 0. It reads this sampler's buffers, so it is valid until the next call.
     */
    Distribution distribution(float[] logits, int[] tokenIds, int count) {
        float[] values = penalise(logits, tokenIds, count);
        return distribution(values, argmax(values));
    }

    /**
     * Tokens whose value is at least {@code threshold} keep the weight {@code exp((value - max) * invTemperature)};
     * the others have none. {@code blockMass[b]} is the weight of tokens {@code [b * BLOCK, (b + 1) * BLOCK)}, and
     * {@code mass} their sum, added in that order.
     */
    record Distribution(float[] values, float max, double invTemperature, float threshold, double[] blockMass,
                        double mass) {
        double probability(int id) {
            float v = values[id];
            return v >= threshold ? weight(v, max, invTemperature) / mass : 0;
        }
    }

    private static double weight(float value, float max, double invTemperature) {
        return Exp.expDouble(((double) value - max) * invTemperature);
    }

    /**
     * The weights of tokens {@code [b * BLOCK, (b + 1) * BLOCK)} at or above {@code threshold}, added in index order
     * (as {@link #drawInBlock} adds them); each weight computed in vectors, the same bits as {@link #weight}.
     */
    private double blockMass(float[] values, int b, float max, double invTemperature, float threshold) {
        int from = b * BLOCK;
        int n = Math.min(BLOCK, values.length - from);
        if (threshold > Float.NEGATIVE_INFINITY && largest(values, from, n) < threshold) {
            return 0; // under top-k or top-p most blocks: no exps for them
        }
        int i = 0;
        for (int bound = HALF.loopBound(n); i < bound; i += HALF.length()) {
            FloatVector v = FloatVector.fromArray(HALF, values, from + i);
            DoubleVector x = ((DoubleVector) v.convertShape(VectorOperators.F2D, D, 0)).sub(max).mul(invTemperature);
            Exp.expDouble(x).blend(0.0, v.compare(VectorOperators.LT, threshold).cast(D)).intoArray(blockWeights, i);
        }
        for (; i < n; i++) {
            float v = values[from + i];
            blockWeights[i] = v >= threshold ? weight(v, max, invTemperature) : 0;
        }
        double m = 0;
        for (int j = 0; j < n; j++) {
            m += blockWeights[j];
        }
        return m;
    }

    /** The largest of {@code n} values from {@code from}; NaN if one is. */
    private static float largest(float[] values, int from, int n) {
        FloatVector largest = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            largest = largest.max(FloatVector.fromArray(F, values, from + i)); // a NaN lane stays NaN
        }
        float max = largest.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, values[from + i]);
        }
        return max;
    }

    private static int blocks(float[] values) {
        return (values.length + BLOCK - 1) / BLOCK;
    }

    private float[] penalise(float[] logits, int[] tokenIds, int count) {
        int vocab = logits.length;
        if (vocab == 0) {
            throw new IllegalArgumentException("logits are empty");
        }
        if (count < 0 || count > tokenIds.length) {
            throw new IllegalArgumentException("count " + count + " is outside 0.." + tokenIds.length);
        }
        float[] out = logits;
        if (params.repetitionPenalty() != 1) {
            if (penalised == null || penalised.length != vocab) {
                penalised = new float[vocab];
            }
            System.arraycopy(logits, 0, penalised, 0, vocab);
            out = penalised;
        }
        for (int j = 0; j < count; j++) {
            int id = tokenIds[j];
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " at position " + j
                        + " of the sequence is outside the vocabulary of " + vocab + " logits");
            }
            if (out != logits) {
                // From the raw logit, so that an id seen many times is penalised once.
                float v = logits[id];
                out[id] = v < 0 ? v * penalty : v / penalty;
            }
        }
        return out;
    }

    /**
     * The lowest id of the largest value; rejects values no distribution can be made of. In vectors: the largest
     * value first (a greedy token costs this pass and a short one, not a scalar compare-and-branch per entry).
     */
    private static int argmax(float[] values) {
        float max = largest(values, 0, values.length);
        if (Float.isNaN(max)) {
            for (int j = 0; ; j++) {
                if (Float.isNaN(values[j])) {
                    throw new IllegalArgumentException("the logit of token " + j + " is NaN");
                }
            }
        }
        if (max == Float.NEGATIVE_INFINITY) {
            throw new IllegalArgumentException("every logit is -Infinity: there is no token to choose");
        }
        int best = firstIndexOf(values, max);
        if (max == Float.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("the logit of token " + best + " is +Infinity");
        }
        return best;
    }

    /** The first index holding a value equal to {@code v} (0 and -0 are equal), which is there. */
    private static int firstIndexOf(float[] values, float v) {
        int i = 0;
        for (int bound = F.loopBound(values.length); i < bound; i += F.length()) {
            int lane = FloatVector.fromArray(F, values, i).compare(VectorOperators.EQ, v).firstTrue();
            if (lane < F.length()) {
                return i + lane;
            }
        }
        while (values[i] != v) {
            i++;
        }
        return i;
    }

    private Distribution distribution(float[] values, int best) {
        float max = values[best];
        float threshold = Float.NEGATIVE_INFINITY;
        int k = params.topK();
        if (k > 0 && k < values.length) {
            threshold = kthLargest(values, k);
        }
        if (params.topP() < 1) {
            threshold = nucleusThreshold(values, max, threshold);
        }
        int blocks = blocks(values);
        if (blockMass == null || blockMass.length != blocks) {
            blockMass = new double[blocks];
        }
        double mass = 0;
        for (int b = 0; b < blocks; b++) {
            blockMass[b] = blockMass(values, b, max, invTemperature, threshold);
            mass += blockMass[b];
        }
        return new Distribution(values, max, invTemperature, threshold, blockMass, mass);
    }

    /** The k-th largest value (k below the vocabulary size), with a min-heap of the k largest seen so far. */
    private float kthLargest(float[] values, int k) {
        if (topKHeap == null || topKHeap.length != k) {
            topKHeap = new float[k];
        }
        float[] heap = topKHeap;
        System.arraycopy(values, 0, heap, 0, k);
        for (int i = k / 2 - 1; i >= 0; i--) {
            siftDown(heap, i, k);
        }
        for (int i = k; i < values.length; i++) {
            if (values[i] > heap[0]) {
                heap[0] = values[i];
                siftDown(heap, 0, k);
            }
        }
        return heap[0];
    }

    private static void siftDown(float[] heap, int i, int size) {
        float v = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap[child + 1] < heap[child]) {
                child++;
            }
            if (heap[child] >= v) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = v;
    }

    /**
     * The smallest value the nucleus keeps, among tokens at or above {@code floor} (top-k's threshold). Only tokens
     * likely enough to matter are sorted: if the tokens with probability at least 2^-8 already add up to top_p, the
     * nucleus is among them, and there are at most 256 of them.
     */
    private float nucleusThreshold(float[] values, float max, float floor) {
        double total = 0;
        for (int b = 0; b < blocks(values); b++) {
            total += blockMass(values, b, max, invTemperature, floor);
        }
        double target = params.topP() * total;
        for (double fraction : NUCLEUS_ROUNDS) {
            float cut = fraction == 0
                    ? floor
                    : Math.max(floor, (float) (max + StrictMath.log(fraction * total) / invTemperature));
            if (cut > max) {
                continue; // no token is that likely
            }
            int n = collect(values, cut);
            Arrays.sort(candidates, 0, n);
            double cumulative = 0;
            for (int j = n - 1; j >= 0; j--) {
                float v = values[indexOf(candidates[j])];
                cumulative += weight(v, max, invTemperature);
                if (cumulative >= target) {
                    return v;
                }
            }
        }
        // Only the last round, which holds every token top-k kept, gets here: rounding left its sum just short of
        // top_p, so it keeps them all.
        return floor;
    }

    private int collect(float[] values, float cut) {
        int n = 0;
        for (int i = 0; i < values.length; i++) {
            if (values[i] >= cut) {
                if (n == candidates.length) {
                    candidates = Arrays.copyOf(candidates, Math.min(2 * n, values.length));
                }
                candidates[n++] = key(values[i], i);
            }
        }
        return n;
    }

    /** A long whose order is the value's, then the lower id first: larger keys are more likely tokens. */
    private static long key(float value, int id) {
        int bits = Float.floatToIntBits(value + 0.0f); // + 0.0f turns -0.0 into 0.0, an equal value
        int ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF); // two's-complement order of the bits = float order
        return ((long) ordered << 32) | (Integer.MAX_VALUE - id);
    }

    private static int indexOf(long key) {
        return Integer.MAX_VALUE - (int) key;
    }

    private int draw(Distribution d) {
        double u = random.nextDouble() * d.mass();
        double before = 0;
        int lastBlock = -1;
        for (int b = 0; b < d.blockMass().length; b++) {
            double m = d.blockMass()[b];
            if (m == 0) {
                continue;
            }
            if (u < before + m) {
                return drawInBlock(d, b, u - before);
            }
            before += m;
            lastBlock = b;
        }
        // Rounding put u at the very end of the mass: take the last token that has any.
        return drawInBlock(d, lastBlock, Double.POSITIVE_INFINITY);
    }

    /** The first token of block b at which the weight summed from the block's start exceeds r. */
    private static int drawInBlock(Distribution d, int b, double r) {
        float[] values = d.values();
        double cumulative = 0;
        int last = -1;
        for (int i = b * BLOCK, end = Math.min(i + BLOCK, values.length); i < end; i++) {
            float v = values[i];
            if (v >= d.threshold()) {
                double w = weight(v, d.max(), d.invTemperature());
                if (w > 0) {
                    cumulative += w;
                    last = i;
                    if (r < cumulative) {
                        return i;
                    }
                }
            }
        }
        return last; // the block's sum was recomputed a hair short of r
    }

    /** log of the sum of exp(logit), around the largest logit; {@code argmax} is its index when known, else -1. */
    private double logSumExp(float[] logits, int argmax) {
        float max = logits[argmax >= 0 ? argmax : argmax(logits)];
        double sum = 0;
        for (int b = 0; b < blocks(logits); b++) {
            sum += blockMass(logits, b, max, 1, Float.NEGATIVE_INFINITY);
        }
        return max + StrictMath.log(sum);
    }

    private List<TokenLogprob> topLogprobs(float[] logits, double logNormaliser) {
        int n = Math.min(params.topLogprobs(), logits.length);
        if (n == 0) {
            return List.of();
        }
        long[] top = new long[n]; // ascending keys of the n most likely tokens so far
        int size = 0;
        for (int i = 0; i < logits.length; i++) {
            long key = key(logits[i], i);
            int j;
            if (size < n) {
                j = size++;
                while (j > 0 && top[j - 1] > key) {
                    top[j] = top[j - 1];
                    j--;
                }
            } else if (key > top[0]) {
                j = 0;
                while (j + 1 < n && top[j + 1] < key) {
                    top[j] = top[j + 1];
                    j++;
                }
            } else {
                continue;
            }
            top[j] = key;
        }
        List<TokenLogprob> out = new ArrayList<>(n);
        for (int j = n - 1; j >= 0; j--) {
            int id = indexOf(top[j]);
            out.add(new TokenLogprob(id, logits[id] - logNormaliser));
        }
        return out;
    }
}
