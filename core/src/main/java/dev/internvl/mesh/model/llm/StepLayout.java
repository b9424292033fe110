package dev.internvl.mesh.model.llm;

import java.util.List;

/**
 * Where the rows of one forward pass go in the KV cache: per sequence, in row order, its block table, the position
 * of its first new row and how many new rows it has. With the hidden states, this is all a run of decoder layers
 * needs, so it is also what travels to a layer shard.
 */
public record StepLayout(List<Entry> entries) {
    public record Entry(int[] blockTable, int start, int count) {
        public Entry {
            if (start < 0 || count < 1) {
                throw new IllegalArgumentException("a sequence's rows need start >= 0 and count >= 1, got " + start + ", " + count);
            }
        }
    }

    public StepLayout {
        entries = List.copyOf(entries);
    }

    public int rows() {
        int rows = 0;
        for (Entry e : entries) {
            rows += e.count();
        }
        return rows;
    }
}
