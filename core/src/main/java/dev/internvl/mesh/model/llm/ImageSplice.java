package dev.internvl.mesh.model.llm;

/**
 * Visual embeddings {@code [rows, hidden]} (the vision encoder's output, tiles in order) that replace the prompt's
 * image-context tokens: the k-th occurrence of {@code contextTokenId}, in sequence order, gets row k. The id comes
 * from the tokenizer ({@code <IMG_CONTEXT>}); the model knows no token ids.
 */
public record ImageSplice(int contextTokenId, float[] embeddings, int rows) {
    public ImageSplice {
        if (rows < 0 || embeddings.length % Math.max(1, rows) != 0 || (rows == 0 && embeddings.length != 0)) {
            throw new IllegalArgumentException(embeddings.length + " values are not " + rows + " equal rows");
        }
    }

    /** Occurrences of the context token in {@code tokens[from, to)}. */
    public int countIn(int[] tokens, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) {
            if (tokens[i] == contextTokenId) {
                n++;
            }
        }
        return n;
    }
}
