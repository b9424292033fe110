package dev.internvl.mesh.engine;

import dev.internvl.mesh.model.llm.ImageSplice;
import dev.internvl.mesh.sampling.SamplingParams;

/**
 * One generation to run: the whole prompt as token ids (image runs expanded to their {@code <IMG_CONTEXT>} ids),
 * the visual embeddings that replace those ids (null for text), and how to sample.
 */
public record GenerationRequest(String id, int[] promptIds, ImageSplice images, SamplingParams sampling) {
    public GenerationRequest {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (images != null && images.countIn(promptIds, 0, promptIds.length) != images.rows()) {
            throw new IllegalArgumentException("the prompt has " + images.countIn(promptIds, 0, promptIds.length)
                    + " image-context tokens for " + images.rows() + " image embedding rows");
        }
    }
}
