package dev.internvl.mesh.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

/** Qwen2 decoder hyper-parameters ({@code llm_config}); defaults are transformers' Qwen2Config's. */
public record LlmConfig(
        int hiddenSize,
        int numHeads,
        int numKvHeads,
        int numLayers,
        int intermediateSize,
        int vocabSize,
        double rmsNormEps,
        double ropeTheta,
        boolean tieWordEmbeddings,
        int maxPositionEmbeddings) {

    public int headDim() {
        return hiddenSize / numHeads;
    }

    public int kvDim() {
        return numKvHeads * headDim();
    }

    static LlmConfig read(ConfigReader c) {
        JsonNode arch = c.raw("architectures");
        if (arch != null && arch.isArray() && !arch.isEmpty()) {
            String name = arch.get(0).asText();
            if (!name.equals("Qwen2ForCausalLM")) {
                throw c.error("architectures", "is " + name + ": only Qwen2-based InternVL 2.5 models (1B, 4B, 38B, 78B) are supported");
            }
        }
        JsonNode scaling = c.raw("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            throw c.error("rope_scaling", "is set (" + scaling + "): RoPE scaling is not supported");
        }
        if (c.optBool("use_sliding_window", false)) {
            throw c.error("use_sliding_window", "is true: sliding-window attention is not supported");
        }
        int heads = c.requirePositiveInt("num_attention_heads");
        LlmConfig l = new LlmConfig(
                c.requirePositiveInt("hidden_size"),
                heads,
                c.has("num_key_value_heads") ? c.requirePositiveInt("num_key_value_heads") : heads,
                c.requirePositiveInt("num_hidden_layers"),
                c.requirePositiveInt("intermediate_size"),
                c.requirePositiveInt("vocab_size"),
                c.optDouble("rms_norm_eps", 1e-6),
                c.optDouble("rope_theta", 10000.0),
                c.optBool("tie_word_embeddings", false),
                c.optInt("max_position_embeddings", 32768));
        if (l.hiddenSize % l.numHeads != 0) {
            throw c.error("hidden_size", "(" + l.hiddenSize + ") is not divisible by num_attention_heads (" + l.numHeads + ")");
        }
        if (l.numHeads % l.numKvHeads != 0) {
            throw c.error("num_key_value_heads", "(" + l.numKvHeads + ") does not divide num_attention_heads (" + l.numHeads + ")");
        }
        if (l.headDim() % 2 != 0) {
            throw c.error("hidden_size", "gives an odd head dimension " + l.headDim() + ": RoPE needs an even one");
        }
        return l;
    }
}
