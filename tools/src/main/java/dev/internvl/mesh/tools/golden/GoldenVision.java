package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.image.ImageLimits;
import dev.internvl.mesh.image.ImagePreprocessor;
import dev.internvl.mesh.image.PreprocessedImage;
import dev.internvl.mesh.model.vision.VisionEncoder;

import java.io.IOException;
import java.nio.file.Files;

/**
 * The image half of the vision and multimodal cases, end to end: the case's image file through preprocessing (with
 * the case's tiling settings, else those of the preprocess case it names) and the checkpoint's vision encoder.
 */
final class GoldenVision {
    private GoldenVision() {
    }

    /** Projected embeddings {@code [tiles * tokensPerTile, hidden]} for a case naming an image and its tiling. */
    static float[] encode(GoldenSet set, JsonNode c, Checkpoint checkpoint) throws IOException {
        JsonNode pre = preprocessCase(set, c.path("preprocess_case").asText(""));
        String imageName = c.path("image").asText(pre.path("image").asText());
        JsonNode image = set.manifest().path("images").path(imageName);
        if (!image.hasNonNull("file")) {
            throw new IllegalArgumentException("image '" + imageName + "' is not in the manifest's images");
        }
        int tileSize = pre.path("image_size").asInt(checkpoint.config().vision().imageSize());
        int minTiles = c.path("min_num").asInt(pre.path("min_num").asInt(1));
        int maxTiles = c.path("max_num").asInt(pre.path("max_num").asInt(checkpoint.config().maxDynamicPatch()));
        boolean thumbnail = pre.path("use_thumbnail").asBoolean(checkpoint.config().useThumbnail());
        PreprocessedImage p = new ImagePreprocessor(tileSize, ImageLimits.defaults())
                .preprocess(Files.readAllBytes(set.resolve(image.get("file").asText())), minTiles, maxTiles, thumbnail);
        if (c.has("num_tiles") && c.get("num_tiles").asInt() != p.numTiles()) {
            throw new IllegalStateException("preprocessing gave " + p.numTiles() + " tiles, the case expects " + c.get("num_tiles").asInt());
        }
        return VisionEncoder.load(checkpoint, ComputePool.shared(), Precision.EXACT).encode(p.pixelValues(), p.numTiles());
    }

    private static JsonNode preprocessCase(GoldenSet set, String id) {
        for (JsonNode c : set.cases("preprocess_cases")) {
            if (c.path("id").asText().equals(id)) {
                return c;
            }
        }
        return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }
}
