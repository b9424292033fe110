package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.Optional;
import java.util.Set;

/**
 * Typed readers of request JSON, as the OpenAI API validates it: a missing, mistyped or out-of-range field is a
 * 400 whose message names the parameter by its path in the body (e.g. {@code messages[1].content[0].text}).
 */
final class JsonFields {
    private JsonFields() {
    }

    /** The body as a JSON object. */
    static JsonNode readObject(ObjectMapper json, byte[] body) {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiError.invalidRequest("We could not parse the JSON body of your request: " + e.getOriginalMessage(), null);
        } catch (IOException e) {
            throw ApiError.invalidRequest("We could not read the body of your request.", null);
        }
        if (root == null || !root.isObject()) {
            throw ApiError.invalidRequest("The request body must be a JSON object.", null);
        }
        return root;
    }

    /** Refuses fields outside {@code known}; {@code where} is the object's path, empty for the body itself. */
    static void refuseUnknown(JsonNode node, Set<String> known, String where) {
        node.fieldNames().forEachRemaining(name -> {
            if (!known.contains(name)) {
                throw where.isEmpty()
                        ? ApiError.invalidRequest("Unrecognized request argument supplied: " + name, name)
                        : ApiError.invalidRequest("Unrecognized argument supplied: " + where + "." + name, where + "." + name);
            }
        });
    }

    static ApiError typeError(String param, String expected) {
        return ApiError.invalidRequest("Invalid type for '" + param + "': expected " + expected + ".", param);
    }

    static String requiredString(JsonNode node, String field) {
        return requiredString(node, field, field);
    }

    static String requiredString(JsonNode node, String field, String param) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            throw ApiError.invalidRequest("Missing required parameter: '" + param + "'.", param);
        }
        if (!v.isTextual()) {
            throw typeError(param, "a string");
        }
        return v.asText();
    }

    static Optional<String> optionalString(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw typeError(field, "a string");
        }
        return Optional.of(v.asText());
    }

    static boolean bool(JsonNode node, String field, boolean fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isBoolean()) {
            throw typeError(field, "a boolean");
        }
        return v.asBoolean();
    }

    static Optional<Integer> integer(JsonNode node, String field, int min, int max) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw typeError(field, "an integer");
        }
        int i = v.asInt();
        if (i < min || i > max) {
            throw ApiError.invalidRequest("Invalid value for '" + field + "': " + i + " is "
                    + (i < min ? "less than the minimum of " + min : "greater than the maximum of " + max) + ".", field);
        }
        return Optional.of(i);
    }

    static Optional<Long> longValue(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw typeError(field, "an integer");
        }
        return Optional.of(v.asLong());
    }

    /** A number in [min, max] ({@code minInclusive}) or (min, max]. */
    static Optional<Double> number(JsonNode node, String field, double min, double max, boolean minInclusive) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isNumber()) {
            throw typeError(field, "a number");
        }
        double d = v.asDouble();
        boolean low = minInclusive ? d < min : d <= min;
        if (low || d > max || Double.isNaN(d)) {
            String bound = minInclusive ? "[" : "(";
            throw ApiError.invalidRequest("Invalid value for '" + field + "': " + v.asText() + " is outside "
                    + bound + fmt(min) + ", " + fmt(max) + "].", field);
        }
        return Optional.of(d);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
