package dev.internvl.mesh.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;

/** Reads typed values out of one object of config.json, naming the file and key path in every error. */
final class ConfigReader {
    private final Path file;
    private final String prefix;
    private final JsonNode node;

    ConfigReader(Path file, String prefix, JsonNode node) {
        this.file = file;
        this.prefix = prefix;
        this.node = node;
    }

    ConfigReader child(String key) {
        JsonNode c = node.get(key);
        if (c == null || c.isNull()) {
            throw error(key, "missing");
        }
        if (!c.isObject()) {
            throw error(key, "must be an object");
        }
        return new ConfigReader(file, prefix + key + ".", c);
    }

    boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    JsonNode raw(String key) {
        return node.get(key);
    }

    int requireInt(String key) {
        if (!has(key)) {
            throw error(key, "missing");
        }
        return asInt(key);
    }

    int optInt(String key, int fallback) {
        return has(key) ? asInt(key) : fallback;
    }

    private int asInt(String key) {
        JsonNode v = node.get(key);
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw error(key, "must be an integer, got " + v);
        }
        return v.asInt();
    }

    int requirePositiveInt(String key) {
        int v = requireInt(key);
        if (v <= 0) {
            throw error(key, "must be positive, got " + v);
        }
        return v;
    }

    double requireDouble(String key) {
        if (!has(key)) {
            throw error(key, "missing");
        }
        return asDouble(key);
    }

    double optDouble(String key, double fallback) {
        return has(key) ? asDouble(key) : fallback;
    }

    private double asDouble(String key) {
        JsonNode v = node.get(key);
        if (!v.isNumber()) {
            throw error(key, "must be a number, got " + v);
        }
        return v.asDouble();
    }

    boolean optBool(String key, boolean fallback) {
        if (!has(key)) {
            return fallback;
        }
        JsonNode v = node.get(key);
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        if (v.isIntegralNumber()) { // upstream configs write some flags as 0/1
            return v.asInt() != 0;
        }
        throw error(key, "must be a boolean, got " + v);
    }

    String requireString(String key) {
        if (!has(key)) {
            throw error(key, "missing");
        }
        JsonNode v = node.get(key);
        if (!v.isTextual()) {
            throw error(key, "must be a string, got " + v);
        }
        return v.asText();
    }

    String optString(String key, String fallback) {
        return has(key) ? requireString(key) : fallback;
    }

    CheckpointException error(String key, String problem) {
        return new CheckpointException(file + ": config key '" + prefix + key + "' " + problem);
    }
}
