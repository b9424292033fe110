package dev.internvl.mesh.gateway.conversation;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The JSON the stores keep, written field by field rather than by reflection so that the stored format only
 * changes on purpose. Times are epoch milliseconds.
 */
final class StoredJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private StoredJson() {
    }

    /** A conversation without its turns. */
    record Header(Instant createdAt, Optional<String> systemMessage, Map<String, String> metadata) {
    }

    static String header(Header h) {
        ObjectNode node = JSON.createObjectNode();
        node.put("createdAt", h.createdAt().toEpochMilli());
        h.systemMessage().ifPresent(s -> node.put("systemMessage", s));
        node.set("metadata", metadataNode(h.metadata()));
        return write(node);
    }

    static Header header(String json) {
        JsonNode node = read(json);
        return new Header(Instant.ofEpochMilli(node.get("createdAt").asLong()),
                node.hasNonNull("systemMessage") ? Optional.of(node.get("systemMessage").asText()) : Optional.empty(),
                metadata(node.get("metadata")));
    }

    static String metadata(Map<String, String> metadata) {
        return write(metadataNode(metadata));
    }

    static Map<String, String> metadata(String json) {
        return metadata(read(json));
    }

    static String turn(Turn turn) {
        ObjectNode node = JSON.createObjectNode();
        node.put("createdAt", turn.createdAt().toEpochMilli());
        node.set("user", userNode(turn.user()));
        node.put("assistant", turn.assistant());
        node.put("promptTokens", turn.usage().promptTokens());
        node.put("completionTokens", turn.usage().completionTokens());
        return write(node);
    }

    static Turn turn(String json) {
        JsonNode node = read(json);
        return new Turn(user(node.get("user")), node.get("assistant").asText(),
                Instant.ofEpochMilli(node.get("createdAt").asLong()),
                new Turn.Usage(node.get("promptTokens").asInt(), node.get("completionTokens").asInt()));
    }

    static String user(List<Turn.Part> parts) {
        return write(userNode(parts));
    }

    static List<Turn.Part> user(String json) {
        return user(read(json));
    }

    private static ArrayNode userNode(List<Turn.Part> parts) {
        ArrayNode array = JSON.createArrayNode();
        for (Turn.Part part : parts) {
            ObjectNode p = array.addObject();
            switch (part) {
                case Turn.Text t -> p.put("type", "text").put("text", t.text());
                case Turn.Image i -> {
                    p.put("type", "image").put("sha256", i.sha256());
                    i.maxDynamicPatch().ifPresent(n -> p.put("maxDynamicPatch", n));
                }
            }
        }
        return array;
    }

    private static List<Turn.Part> user(JsonNode array) {
        List<Turn.Part> parts = new ArrayList<>(array.size());
        for (JsonNode p : array) {
            String type = p.get("type").asText();
            parts.add(switch (type) {
                case "text" -> new Turn.Text(p.get("text").asText());
                case "image" -> new Turn.Image(p.get("sha256").asText(),
                        p.hasNonNull("maxDynamicPatch") ? Optional.of(p.get("maxDynamicPatch").asInt()) : Optional.empty());
                default -> throw new IllegalStateException("stored content part has unknown type '" + type + "'");
            });
        }
        return parts;
    }

    private static ObjectNode metadataNode(Map<String, String> metadata) {
        ObjectNode node = JSON.createObjectNode();
        metadata.forEach(node::put);
        return node;
    }

    private static Map<String, String> metadata(JsonNode node) {
        Map<String, String> metadata = new LinkedHashMap<>();
        node.properties().forEach(e -> metadata.put(e.getKey(), e.getValue().asText()));
        return metadata;
    }

    private static String write(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serializes", e);
        }
    }

    private static JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored JSON is corrupt: " + e.getOriginalMessage(), e);
        }
    }
}
