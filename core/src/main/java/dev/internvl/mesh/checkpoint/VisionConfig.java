package dev.internvl.mesh.checkpoint;

/** InternViT hyper-parameters ({@code vision_config}); defaults are upstream InternVisionConfig's. */
public record VisionConfig(
        int hiddenSize,
        int numHeads,
        int numLayers,
        int intermediateSize,
        int imageSize,
        int patchSize,
        int numChannels,
        NormType normType,
        boolean qkvBias,
        boolean qkNormalization,
        double layerNormEps) {

    public enum NormType { LAYER_NORM, RMS_NORM }

    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Patches per side of a tile (32 for 448 px tiles of 14 px patches). */
    public int gridSize() {
        return imageSize / patchSize;
    }

    /** Tokens the encoder sees per tile: the patches plus the class token. */
    public int sequenceLength() {
        return gridSize() * gridSize() + 1;
    }

    static VisionConfig read(ConfigReader c) {
        String norm = c.optString("norm_type", "rms_norm");
        NormType normType = switch (norm) {
            case "layer_norm" -> NormType.LAYER_NORM;
            case "rms_norm" -> NormType.RMS_NORM;
            default -> throw c.error("norm_type", "must be 'layer_norm' or 'rms_norm', got '" + norm + "'");
        };
        String act = c.optString("hidden_act", "gelu");
        if (!act.equals("gelu")) {
            throw c.error("hidden_act", "must be 'gelu' (InternViT), got '" + act + "'");
        }
        VisionConfig v = new VisionConfig(
                c.requirePositiveInt("hidden_size"),
                c.requirePositiveInt("num_attention_heads"),
                c.requirePositiveInt("num_hidden_layers"),
                c.requirePositiveInt("intermediate_size"),
                c.requirePositiveInt("image_size"),
                c.requirePositiveInt("patch_size"),
                c.optInt("num_channels", 3),
                normType,
                c.optBool("qkv_bias", false),
                c.optBool("qk_normalization", true),
                c.optDouble("layer_norm_eps", 1e-6));
        if (v.hiddenSize % v.numHeads != 0) {
            throw c.error("hidden_size", "(" + v.hiddenSize + ") is not divisible by num_attention_heads (" + v.numHeads + ")");
        }
        if (v.imageSize % v.patchSize != 0) {
            throw c.error("image_size", "(" + v.imageSize + ") is not a multiple of patch_size (" + v.patchSize + ")");
        }
        if (v.numChannels != 3) {
            throw c.error("num_channels", "must be 3 (RGB), got " + v.numChannels);
        }
        return v;
    }
}
