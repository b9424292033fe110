package dev.internvl.mesh.checkpoint;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The tensors an InternVL 2.5 checkpoint must hold, with the original hub names and the shapes its config implies.
 * The model code reads weights by these names; {@link Checkpoint#open} checks a directory against them.
 */
public final class WeightSchema {
    public static final String VISION = "vision_model.";
    public static final String LLM = "language_model.";
    public static final String LM_HEAD = "language_model.lm_head.weight";
    public static final String EMBED_TOKENS = "language_model.model.embed_tokens.weight";

    private WeightSchema() {
    }

    /** A part of a checkpoint that one process needs: the tensor names it maps. */
    @FunctionalInterface
    public interface Part {
        Predicate<String> names(ModelConfig config);
    }

    /** The whole checkpoint. */
    public static final Part ALL = config -> name -> true;

    /** What a sharded language tier's coordinator runs: token embeddings, the final norm and lm_head. */
    public static final Part LLM_OUTSIDE_LAYERS = config -> name -> name.equals(EMBED_TOKENS) || name.equals(LM_HEAD)
            || name.equals(LLM + "model.norm.weight");

    /** The decoder layers {@code [first, end)}, what one layer shard runs. */
    public static Part llmLayers(int first, int end) {
        return config -> name -> {
            String prefix = LLM + "model.layers.";
            if (!name.startsWith(prefix)) {
                return false;
            }
            int dot = name.indexOf('.', prefix.length());
            try {
                int layer = Integer.parseInt(name.substring(prefix.length(), dot));
                return layer >= first && layer < end;
            } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                return false;
            }
        };
    }

    public static String visionLayer(int layer, String suffix) {
        return VISION + "encoder.layers." + layer + "." + suffix;
    }

    public static String llmLayer(int layer, String suffix) {
        return LLM + "model.layers." + layer + "." + suffix;
    }

    /** Every expected tensor name with its shape, in a stable order. */
    public static Map<String, long[]> expected(ModelConfig config) {
        Map<String, long[]> m = new LinkedHashMap<>();
        VisionConfig v = config.vision();
        long c = v.hiddenSize();
        m.put(VISION + "embeddings.class_embedding", new long[]{1, 1, c});
        m.put(VISION + "embeddings.position_embedding", new long[]{1, v.sequenceLength(), c});
        m.put(VISION + "embeddings.patch_embedding.weight", new long[]{c, v.numChannels(), v.patchSize(), v.patchSize()});
        m.put(VISION + "embeddings.patch_embedding.bias", new long[]{c});
        boolean layerNorm = v.normType() == VisionConfig.NormType.LAYER_NORM;
        for (int i = 0; i < v.numLayers(); i++) {
            m.put(visionLayer(i, "ls1"), new long[]{c});
            m.put(visionLayer(i, "ls2"), new long[]{c});
            for (String norm : new String[]{"norm1", "norm2"}) {
                m.put(visionLayer(i, norm + ".weight"), new long[]{c});
                if (layerNorm) {
                    m.put(visionLayer(i, norm + ".bias"), new long[]{c});
                }
            }
            m.put(visionLayer(i, "attn.qkv.weight"), new long[]{3 * c, c});
            if (v.qkvBias()) {
                m.put(visionLayer(i, "attn.qkv.bias"), new long[]{3 * c});
            }
            if (v.qkNormalization()) {
                m.put(visionLayer(i, "attn.q_norm.weight"), new long[]{c});
                m.put(visionLayer(i, "attn.k_norm.weight"), new long[]{c});
            }
            m.put(visionLayer(i, "attn.proj.weight"), new long[]{c, c});
            m.put(visionLayer(i, "attn.proj.bias"), new long[]{c});
            m.put(visionLayer(i, "mlp.fc1.weight"), new long[]{v.intermediateSize(), c});
            m.put(visionLayer(i, "mlp.fc1.bias"), new long[]{v.intermediateSize()});
            m.put(visionLayer(i, "mlp.fc2.weight"), new long[]{c, v.intermediateSize()});
            m.put(visionLayer(i, "mlp.fc2.bias"), new long[]{c});
        }
        LlmConfig l = config.llm();
        long h = l.hiddenSize();
        long p = config.projectorInputSize();
        m.put("mlp1.0.weight", new long[]{p});
        m.put("mlp1.0.bias", new long[]{p});
        m.put("mlp1.1.weight", new long[]{h, p});
        m.put("mlp1.1.bias", new long[]{h});
        m.put("mlp1.3.weight", new long[]{h, h});
        m.put("mlp1.3.bias", new long[]{h});

        long qDim = (long) l.numHeads() * l.headDim();
        long kvDim = l.kvDim();
        m.put(EMBED_TOKENS, new long[]{l.vocabSize(), h});
        for (int i = 0; i < l.numLayers(); i++) {
            m.put(llmLayer(i, "input_layernorm.weight"), new long[]{h});
            m.put(llmLayer(i, "post_attention_layernorm.weight"), new long[]{h});
            m.put(llmLayer(i, "self_attn.q_proj.weight"), new long[]{qDim, h});
            m.put(llmLayer(i, "self_attn.q_proj.bias"), new long[]{qDim});
            m.put(llmLayer(i, "self_attn.k_proj.weight"), new long[]{kvDim, h});
            m.put(llmLayer(i, "self_attn.k_proj.bias"), new long[]{kvDim});
            m.put(llmLayer(i, "self_attn.v_proj.weight"), new long[]{kvDim, h});
            m.put(llmLayer(i, "self_attn.v_proj.bias"), new long[]{kvDim});
            m.put(llmLayer(i, "self_attn.o_proj.weight"), new long[]{h, qDim});
            m.put(llmLayer(i, "mlp.gate_proj.weight"), new long[]{l.intermediateSize(), h});
            m.put(llmLayer(i, "mlp.up_proj.weight"), new long[]{l.intermediateSize(), h});
            m.put(llmLayer(i, "mlp.down_proj.weight"), new long[]{h, l.intermediateSize()});
        }
        m.put(LLM + "model.norm.weight", new long[]{h});
        if (!l.tieWordEmbeddings()) {
            m.put(LM_HEAD, new long[]{l.vocabSize(), h});
        }
        return m;
    }
}
