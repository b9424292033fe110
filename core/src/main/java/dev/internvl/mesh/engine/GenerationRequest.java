package dev.internvl.mesh.engine;

import dev.internvl.mesh.model.llm.ImageSplice;
import dev.internvl.mesh.sampling.SamplingParams;

import java.util.List;

/**
 * One generation to run: the whole prompt as token ids (image runs expanded to their {@code <IMG_CONTEXT>} ids),
 * the visual embeddings that replace those ids (null for text) with what identifies each image, and how to sample.
 *
 * @param imageRefs one per image, in prompt order: a key naming the image's content and tiling (the prefix cache
 *                  shares KV blocks only between identical images) and its number of embedding rows
 */
public record GenerationRequest(String id, int[] promptIds, ImageSplice images, List<ImageRef> imageRefs,
                                SamplingParams sampling) {

    public record ImageRef(String key, int rows) {
    }

    public GenerationRequest {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        imageRefs = List.copyOf(imageRefs);
        int rows = images == null ? 0 : images.rows();
        if (imageRefs.stream().mapToInt(ImageRef::rows).sum() != rows) {
            throw new IllegalArgumentException("the image references cover " + imageRefs.stream().mapToInt(ImageRef::rows).sum()
                    + " embedding rows, the images have " + rows);
        }
        if (images != null && images.countIn(promptIds, 0, promptIds.length) != images.rows()) {
            throw new IllegalArgumentException("the prompt has " + images.countIn(promptIds, 0, promptIds.length)
                    + " image-context tokens for " + images.rows() + " image embedding rows");
        }
    }

    /** A text-only request. */
    public static GenerationRequest text(String id, int[] promptIds, SamplingParams sampling) {
        return new GenerationRequest(id, promptIds, null, List.of(), sampling);
    }
}
