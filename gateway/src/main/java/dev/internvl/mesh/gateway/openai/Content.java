package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.gateway.chat.ChatPlanner;
import dev.internvl.mesh.gateway.images.ImageLoader;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static dev.internvl.mesh.gateway.openai.JsonFields.integer;
import static dev.internvl.mesh.gateway.openai.JsonFields.requiredString;
import static dev.internvl.mesh.gateway.openai.JsonFields.typeError;

/**
 * A message's content as the OpenAI chat API sends it, a string or an array of {@code text} and {@code image_url}
 * parts, wherever it appears (a chat completion's messages, a message posted to a conversation).
 */
public final class Content {
    private Content() {
    }

    /** One part of a message's content, in the order the client sent them. */
    public sealed interface Part permits Text, Image {
    }

    public record Text(String text) implements Part {
    }

    /** An image by URL ({@code data:} URI, or http(s) where the gateway allows it), with its own tile limit. */
    public record Image(String url, Optional<Integer> maxDynamicPatch) implements Part {
    }

    /**
     * @param where          the content's path in the body, e.g. {@code messages[2].content}
     * @param imagesAllowed whether image parts may appear (only user messages carry images)
     */
    static List<Part> parse(JsonNode content, String where, boolean imagesAllowed) {
        if (content == null || content.isNull()) {
            throw ApiError.invalidRequest("Missing required parameter: '" + where + "'.", where);
        }
        if (content.isTextual()) {
            return List.of(new Text(ChatPlanner.checkText(content.asText(), where)));
        }
        if (!content.isArray()) {
            throw typeError(where, "a string or an array of content parts");
        }
        List<Part> parts = new ArrayList<>();
        for (int i = 0; i < content.size(); i++) {
            parts.add(part(content.get(i), where + "[" + i + "]", imagesAllowed));
        }
        return List.copyOf(parts);
    }

    private static Part part(JsonNode node, String where, boolean imagesAllowed) {
        if (!node.isObject()) {
            throw typeError(where, "an object");
        }
        String type = requiredString(node, "type", where + ".type");
        return switch (type) {
            case "text" -> new Text(ChatPlanner.checkText(requiredString(node, "text", where + ".text"), where + ".text"));
            case "image_url" -> {
                if (!imagesAllowed) {
                    throw ApiError.invalidRequest("Image content is only allowed in 'user' messages.", where);
                }
                JsonNode image = node.get("image_url");
                if (image == null || !image.isObject()) {
                    throw ApiError.invalidRequest("Missing required parameter: '" + where + ".image_url'.", where + ".image_url");
                }
                String url = requiredString(image, "url", where + ".image_url.url");
                yield new Image(url, integer(image, "max_dynamic_patch", 1, ChatPlanner.MAX_TILES_LIMIT));
            }
            default -> throw ApiError.invalidRequest("Invalid value for '" + where + ".type': '" + type
                    + "'. Supported values are: 'text' and 'image_url'.", where + ".type");
        };
    }

    /**
     * The parts as the planner takes them, each image loaded (which may block on a download).
     *
     * @param where the content's path in the body, which image errors name
     */
    static List<ChatPlanner.Part> load(List<Part> parts, String where, ImageLoader images) {
        List<ChatPlanner.Part> out = new ArrayList<>();
        for (int p = 0; p < parts.size(); p++) {
            switch (parts.get(p)) {
                case Text t -> out.add(new ChatPlanner.Text(t.text()));
                case Image img -> {
                    String param = where + "[" + p + "].image_url.url";
                    out.add(new ChatPlanner.Image(images.load(img.url(), param), img.maxDynamicPatch(), param));
                }
            }
        }
        return out;
    }
}
