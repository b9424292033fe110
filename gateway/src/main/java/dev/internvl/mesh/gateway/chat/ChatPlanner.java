package dev.internvl.mesh.gateway.chat;

import dev.internvl.mesh.gateway.openai.ApiError;
import dev.internvl.mesh.prompt.ChatRequest;
import dev.internvl.mesh.prompt.Prompt;
import dev.internvl.mesh.prompt.PromptBuilder;
import dev.internvl.mesh.prompt.Turn;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns a conversation of messages into the InternVL prompt the language tier runs: the {@code internvl2_5}
 * template over the history, each image standing where the user put it as an {@code <image>} slot of as many
 * tiles as the vision tier will cut it into.
 *
 * <p>Messages map onto the template's shape: system messages become the system message (the model's default when
 * there is none), then user/assistant exchanges become the history and the last user message the question.
 * Consecutive messages of one role are joined with a newline; within a message, content parts are joined with a
 * newline, an image part being the {@code <image>} placeholder.
 */
public final class ChatPlanner {
    /** The most tiles a client may ask for one image (the model's own default is usually 12). */
    public static final int MAX_TILES_LIMIT = 40;

    /** Counts the tiles an image will be cut into; throws {@link ApiError} for an image that cannot be used. */
    @FunctionalInterface
    public interface TileCounter {
        int tiles(byte[] image, int minTiles, int maxTiles, String param);
    }

    /** A message of the conversation, its parts in the order the user gave them. */
    public record Message(Role role, List<Part> parts) {
    }

    public enum Role { SYSTEM, USER, ASSISTANT }

    public sealed interface Part permits Text, Image {
    }

    public record Text(String text) implements Part {
    }

    /** An image's bytes, its own tile limit if the user set one, and the JSON path for error messages. */
    public record Image(byte[] bytes, Optional<Integer> maxTiles, String param) implements Part {
    }

    /** An image of the planned prompt, in prompt order, with the tiling the language tier must ask for. */
    public record PlannedImage(byte[] bytes, int minTiles, int maxTiles, int tiles) {
    }

    public record Plan(Prompt prompt, List<PlannedImage> images) {
    }

    private final PromptBuilder promptBuilder;
    private final TileCounter tileCounter;
    private final int defaultMinTiles;
    private final int defaultMaxTiles;

    public ChatPlanner(PromptBuilder promptBuilder, TileCounter tileCounter, int defaultMinTiles, int defaultMaxTiles) {
        this.promptBuilder = promptBuilder;
        this.tileCounter = tileCounter;
        this.defaultMinTiles = defaultMinTiles;
        this.defaultMaxTiles = defaultMaxTiles;
    }

    /**
     * Refuses client text that holds the image placeholder: only image parts may put image slots in the prompt.
     *
     * @param param where the text is in the request, for the error
     */
    public static String checkText(String text, String param) {
        if (text.contains(PromptBuilder.IMAGE_PLACEHOLDER)) {
            throw ApiError.invalidRequest("'" + param + "' contains the reserved placeholder " + PromptBuilder.IMAGE_PLACEHOLDER
                    + ": send images as image content parts.", param);
        }
        return text;
    }

    /**
     * @param requestMaxTiles the request-wide tile limit, used for images without their own
     */
    public Plan plan(List<Message> messages, Optional<Integer> requestMaxTiles) {
        List<String> system = new ArrayList<>();
        List<Role> roles = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        List<PlannedImage> images = new ArrayList<>();
        for (Message m : messages) {
            String text = render(m, images, requestMaxTiles);
            if (m.role() == Role.SYSTEM) {
                system.add(text);
            } else if (!roles.isEmpty() && roles.getLast() == m.role()) {
                texts.add(texts.removeLast() + "\n" + text);
            } else {
                roles.add(m.role());
                texts.add(text);
            }
        }
        if (roles.isEmpty() || roles.getLast() != Role.USER) {
            throw ApiError.invalidRequest("The last message must have role 'user'.", "messages");
        }
        if (roles.getFirst() != Role.USER) {
            throw ApiError.invalidRequest("The conversation must start with a 'user' message after any system messages.", "messages");
        }
        List<Turn> history = new ArrayList<>();
        for (int i = 0; i + 1 < texts.size(); i += 2) {
            history.add(new Turn(texts.get(i), texts.get(i + 1)));
        }
        ChatRequest request = new ChatRequest(texts.getLast(), history, images.stream().map(PlannedImage::tiles).toList(),
                system.isEmpty() ? null : String.join("\n", system));
        return new Plan(promptBuilder.build(request), List.copyOf(images));
    }

    /** The message's parts joined by newlines, each image part becoming a placeholder (and a planned image). */
    private String render(Message m, List<PlannedImage> images, Optional<Integer> requestMaxTiles) {
        List<String> pieces = new ArrayList<>();
        for (Part part : m.parts()) {
            switch (part) {
                case Text t -> pieces.add(t.text());
                case Image img -> {
                    int maxTiles = img.maxTiles().or(() -> requestMaxTiles).orElse(defaultMaxTiles);
                    int minTiles = Math.min(defaultMinTiles, maxTiles);
                    int tiles = tileCounter.tiles(img.bytes(), minTiles, maxTiles, img.param());
                    images.add(new PlannedImage(img.bytes(), minTiles, maxTiles, tiles));
                    pieces.add(PromptBuilder.IMAGE_PLACEHOLDER);
                }
            }
        }
        return String.join("\n", pieces);
    }
}
