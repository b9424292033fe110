package dev.internvl.mesh.tools.demo;

import java.util.Locale;
import java.util.Map;

/**
 * The dimensions of a model to generate. The named shapes are those of real hub models (so a benchmark on random
 * weights measures what the real model would cost) or small ones that answer in seconds.
 */
public record ModelShape(
        String name,
        int visionHidden, int visionHeads, int visionLayers, int visionIntermediate,
        boolean visionLayerNorm, boolean qkvBias, boolean qkNormalization,
        int llmHidden, int llmHeads, int llmKvHeads, int llmLayers, int llmIntermediate,
        int vocabSize, boolean tieWordEmbeddings, double ropeTheta, double rmsNormEps) {

    /** Vocabulary of the InternVL 2.5 Qwen tokenizer: Qwen2.5's 151,665 tokens plus InternVL's nine. */
    public static final int INTERNVL_QWEN_VOCAB = 151674;

    public static final Map<String, ModelShape> NAMED = Map.of(
            // The shapes of the golden set's tiny-300m-style checkpoint: a demo that answers in a blink.
            "tiny", new ModelShape("tiny", 64, 4, 2, 256, true, true, false,
                    64, 4, 2, 2, 128, INTERNVL_QWEN_VOCAB, true, 1_000_000, 1e-6),
            // A small but non-trivial model: both tiers do real work, still interactive on two CPUs.
            "small", new ModelShape("small", 256, 4, 4, 1024, true, true, false,
                    256, 4, 2, 4, 1024, INTERNVL_QWEN_VOCAB, false, 1_000_000, 1e-6),
            // OpenGVLab/InternVL2_5-1B: InternViT-300M-448px-V2_5 + Qwen2.5-0.5B-Instruct, lm_head shipped untied.
            "internvl2_5-1b", new ModelShape("internvl2_5-1b", 1024, 16, 24, 4096, true, true, false,
                    896, 14, 2, 24, 4864, INTERNVL_QWEN_VOCAB, false, 1_000_000, 1e-6));

    public static ModelShape named(String name) {
        ModelShape s = NAMED.get(name.toLowerCase(Locale.ROOT));
        if (s == null) {
            throw new IllegalArgumentException("unknown shape '" + name + "'; known: " + String.join(", ", NAMED.keySet().stream().sorted().toList()));
        }
        return s;
    }
}
