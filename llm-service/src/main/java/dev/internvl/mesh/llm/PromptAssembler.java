package dev.internvl.mesh.llm;

import dev.internvl.mesh.engine.GenerationRequest;
import dev.internvl.mesh.model.llm.ImageSplice;
import dev.internvl.mesh.tokenizer.SpecialTokens;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Lays a prompt of text ids and images out as the model sees it: each image becomes {@code <img>}, one
 * {@code <IMG_CONTEXT>} per embedding row, {@code </img>}, and its rows are collected in order for the splice.
 */
final class PromptAssembler {
    private final SpecialTokens tokens;
    private final int width;
    private int[] ids = new int[256];
    private int length;
    private final List<float[]> imageRows = new ArrayList<>();
    private final List<GenerationRequest.ImageRef> refs = new ArrayList<>();
    private int rows;

    PromptAssembler(SpecialTokens tokens, int width) {
        this.tokens = tokens;
        this.width = width;
    }

    void text(int[] tokenIds) {
        for (int id : tokenIds) {
            add(id);
        }
    }

    /** An image's embeddings {@code [n, width]}, named by {@code key} (content and tiling). */
    void image(String key, float[] embeddings) {
        int n = embeddings.length / width;
        add(tokens.imgStart());
        for (int i = 0; i < n; i++) {
            add(tokens.imgContext());
        }
        add(tokens.imgEnd());
        imageRows.add(embeddings);
        refs.add(new GenerationRequest.ImageRef(key, n));
        rows += n;
    }

    int length() {
        return length;
    }

    int[] ids() {
        return Arrays.copyOf(ids, length);
    }

    ImageSplice splice() {
        if (imageRows.isEmpty()) {
            return null;
        }
        float[] all = new float[rows * width];
        int at = 0;
        for (float[] r : imageRows) {
            System.arraycopy(r, 0, all, at, r.length);
            at += r.length;
        }
        return new ImageSplice(tokens.imgContext(), all, rows);
    }

    List<GenerationRequest.ImageRef> imageRefs() {
        return List.copyOf(refs);
    }

    private void add(int id) {
        if (length == ids.length) {
            ids = Arrays.copyOf(ids, ids.length * 2);
        }
        ids[length++] = id;
    }
}
