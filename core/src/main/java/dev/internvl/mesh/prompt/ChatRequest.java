package dev.internvl.mesh.prompt;

import java.util.List;
import java.util.Objects;

/**
 * The inputs of one upstream {@code model.chat(...)} call.
 *
 * @param question      the new question; may hold {@code <image>} placeholders
 * @param history       earlier turns, oldest first; null means none
 * @param tilesPerImage tiles of each image in order ({@code num_patches_list}); null or empty for text only
 * @param systemMessage null for the template's default (the Chinese InternVL system message)
 */
public record ChatRequest(String question, List<Turn> history, List<Integer> tilesPerImage, String systemMessage) {
    public ChatRequest {
        Objects.requireNonNull(question, "question");
        history = history == null ? List.of() : List.copyOf(history);
        tilesPerImage = tilesPerImage == null ? List.of() : List.copyOf(tilesPerImage);
        for (int i = 0; i < tilesPerImage.size(); i++) {
            if (tilesPerImage.get(i) < 1) {
                throw new IllegalArgumentException("image " + (i + 1) + " has " + tilesPerImage.get(i)
                        + " tiles; every image has at least one");
            }
        }
    }

    /** A first question with these images (tiles per image) and the default system message. */
    public static ChatRequest of(String question, Integer... tilesPerImage) {
        return new ChatRequest(question, List.of(), List.of(tilesPerImage), null);
    }
}
