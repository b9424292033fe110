package dev.internvl.mesh.prompt;

import dev.internvl.mesh.tokenizer.ModelTokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds prompts the way upstream {@code InternVLChatModel.chat()} builds its query: render the {@code internvl2_5}
 * template over the history and the question, then replace each {@code <image>} placeholder, first to last, by
 * the token run of the next image. Thread-safe.
 */
public final class PromptBuilder {
    public static final String IMAGE_PLACEHOLDER = "<image>";

    private final ModelTokenizer tokenizer;
    private final int numImageToken;

    /** @param numImageToken visual tokens per tile after pixel unshuffle (256 for InternVL 2.5) */
    public PromptBuilder(ModelTokenizer tokenizer, int numImageToken) {
        if (numImageToken < 1) {
            throw new IllegalArgumentException("numImageToken must be positive, got " + numImageToken);
        }
        this.tokenizer = tokenizer;
        this.numImageToken = numImageToken;
    }

    /**
     * @throws IllegalArgumentException when the rendered conversation does not hold exactly one {@code <image>}
     *                                  per image (upstream would leave images out or fail on the mismatch)
     */
    public Prompt build(ChatRequest request) {
        List<Integer> tiles = request.tilesPerImage();
        String question = request.question();
        // Upstream prepends only on a first turn ("history is None"); an empty history is a first turn here.
        if (!tiles.isEmpty() && request.history().isEmpty() && !question.contains(IMAGE_PLACEHOLDER)) {
            question = IMAGE_PLACEHOLDER + "\n" + question;
        }
        String system = request.systemMessage() == null ? ChatTemplate.DEFAULT_SYSTEM_MESSAGE : request.systemMessage();
        String query = ChatTemplate.render(system, request.history(), question);

        int placeholders = count(query);
        if (placeholders != tiles.size()) {
            throw new IllegalArgumentException("the conversation has " + placeholders + " " + IMAGE_PLACEHOLDER
                    + " placeholder(s) but " + tiles.size() + " image(s) were given: each image needs its own "
                    + IMAGE_PLACEHOLDER + ", in order, in the question or an earlier question of the history");
        }
        // Upstream replaces one placeholder per image with str.replace(..., 1); the replacement never contains
        // nor creates "<image>", so that is splitting at the placeholders from left to right.
        List<Prompt.Segment> segments = new ArrayList<>();
        int from = 0;
        for (int image = 0; image < tiles.size(); image++) {
            int at = query.indexOf(IMAGE_PLACEHOLDER, from);
            addText(segments, query.substring(from, at));
            segments.add(new Prompt.Image(image, tiles.get(image), Math.multiplyExact(numImageToken, tiles.get(image))));
            from = at + IMAGE_PLACEHOLDER.length();
        }
        addText(segments, query.substring(from));
        return new Prompt(segments, question, tokenizer.specialTokens());
    }

    private void addText(List<Prompt.Segment> segments, String text) {
        if (!text.isEmpty()) {
            segments.add(new Prompt.Text(text, tokenizer.encode(text)));
        }
    }

    private static int count(String query) {
        int n = 0;
        for (int at = query.indexOf(IMAGE_PLACEHOLDER); at >= 0; at = query.indexOf(IMAGE_PLACEHOLDER, at + IMAGE_PLACEHOLDER.length())) {
            n++;
        }
        return n;
    }
}
