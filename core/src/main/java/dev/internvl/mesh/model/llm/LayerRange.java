package dev.internvl.mesh.model.llm;

import java.util.ArrayList;
import java.util.List;

/** The decoder layers {@code [first, end)} that one process runs. */
public record LayerRange(int first, int end) {
    public LayerRange {
        if (first < 0 || end <= first) {
            throw new IllegalArgumentException("a layer range needs 0 <= first < end, got " + first + "-" + end);
        }
    }

    public static LayerRange all(int layers) {
        return new LayerRange(0, layers);
    }

    /**
     * {@code layers} split over {@code parts} shards, balanced: every shard runs the same number of layers, give or
     * take one (the earlier shards take the extra ones). The model card's {@code split_model} gives GPU 0 half a
     * share because that GPU also holds the ViT, the embeddings and lm_head; here those run outside the shards
     * (vision tier; coordinator), so the shards are equal.
     */
    public static List<LayerRange> split(int layers, int parts) {
        if (parts < 1 || parts > layers) {
            throw new IllegalArgumentException("cannot split " + layers + " layers into " + parts + " shards (1 to " + layers + ")");
        }
        List<LayerRange> ranges = new ArrayList<>(parts);
        int first = 0;
        for (int i = 0; i < parts; i++) {
            int count = layers / parts + (i < layers % parts ? 1 : 0);
            ranges.add(new LayerRange(first, first + count));
            first += count;
        }
        return ranges;
    }

    /** Parses {@code "first-last"} (inclusive, as people write layer ranges) into {@code [first, last + 1)}. */
    public static LayerRange parse(String text) {
        String[] parts = text.trim().split("-");
        try {
            if (parts.length == 2) {
                return new LayerRange(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()) + 1);
            }
        } catch (IllegalArgumentException e) { // not numbers, or not first <= last
        }
        throw new IllegalArgumentException("layer range '" + text + "': expected first-last, e.g. 0-11");
    }

    public int count() {
        return end - first;
    }

    @Override
    public String toString() {
        return first + "-" + (end - 1);
    }
}
