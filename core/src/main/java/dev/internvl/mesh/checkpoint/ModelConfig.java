package dev.internvl.mesh.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The InternVLChatModel {@code config.json} of a hub checkpoint: the vision tower, the language model and the
 * settings that join them. Values missing from the file take upstream InternVLChatConfig's defaults where it has
 * one; everything else must be present and consistent.
 */
public record ModelConfig(
        Path file,
        VisionConfig vision,
        LlmConfig llm,
        double downsampleRatio,
        PixelShuffleVersion psVersion,
        int selectLayer,
        String template,
        int forceImageSize,
        int minDynamicPatch,
        int maxDynamicPatch,
        boolean useThumbnail,
        boolean dynamicImageSize) {

    public enum PixelShuffleVersion { V1, V2 }

    /** Visual tokens per 448 px tile after pixel unshuffle (256 for InternVL 2.5). */
    public int numImageTokens() {
        int side = (int) Math.round(vision.gridSize() * downsampleRatio);
        return side * side;
    }

    /** Channels entering the mlp1 projector: the vision width times the pixels merged into one token. */
    public int projectorInputSize() {
        int merge = (int) Math.round(1.0 / downsampleRatio);
        return vision.hiddenSize() * merge * merge;
    }

    /** Index of the encoder layer whose output feeds the projector, resolved from {@code select_layer}. */
    public int visionOutputLayer() {
        return selectLayer < 0 ? vision.numLayers() + selectLayer : selectLayer - 1;
    }

    public static ModelConfig read(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file + ": missing: a model directory needs the hub's config.json");
        } catch (IOException e) {
            throw new CheckpointException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(file + ": expected a JSON object");
        }
        ConfigReader c = new ConfigReader(file, "", root);
        VisionConfig vision = VisionConfig.read(c.child("vision_config"));
        LlmConfig llm = LlmConfig.read(c.child("llm_config"));

        double ratio = c.requireDouble("downsample_ratio");
        double inverse = 1.0 / ratio;
        if (ratio <= 0 || ratio > 1 || Math.abs(inverse - Math.rint(inverse)) > 1e-9
                || vision.gridSize() % (int) Math.rint(inverse) != 0) {
            throw c.error("downsample_ratio", "(" + ratio + ") must be 1/k for a k that divides the patch grid side " + vision.gridSize());
        }
        String ps = c.optString("ps_version", "v1");
        PixelShuffleVersion psVersion = switch (ps) {
            case "v1" -> PixelShuffleVersion.V1;
            case "v2" -> PixelShuffleVersion.V2;
            default -> throw c.error("ps_version", "must be 'v1' or 'v2', got '" + ps + "'");
        };
        int selectLayer = c.optInt("select_layer", -1);
        if (selectLayer == 0 || selectLayer < -vision.numLayers() || selectLayer > vision.numLayers()) {
            throw c.error("select_layer", "(" + selectLayer + ") is outside the " + vision.numLayers() + " vision layers");
        }
        String template = c.requireString("template");
        int forceImageSize = c.optInt("force_image_size", vision.imageSize());
        if (forceImageSize != vision.imageSize()) {
            throw c.error("force_image_size", "(" + forceImageSize + ") differs from vision_config.image_size (" + vision.imageSize() + ")");
        }
        int minPatch = c.optInt("min_dynamic_patch", 1);
        int maxPatch = c.optInt("max_dynamic_patch", 6);
        if (minPatch < 1 || maxPatch < minPatch) {
            throw c.error("max_dynamic_patch", "(" + maxPatch + ") must be at least min_dynamic_patch (" + minPatch + ") and 1");
        }
        return new ModelConfig(file, vision, llm, ratio, psVersion, selectLayer, template, forceImageSize,
                minPatch, maxPatch, c.optBool("use_thumbnail", false), c.optBool("dynamic_image_size", false));
    }
}
