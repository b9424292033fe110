package dev.internvl.mesh.tokenizer;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads what this side needs out of a {@code tokenizer.json} (the library parses the file again for itself): the
 * BPE vocabulary, the added tokens and the decoder type. Streams the file, skipping the merges, since it is
 * several MB.
 */
final class TokenizerJson {
    private final Path file;
    private Map<String, Integer> vocab;
    private final List<AddedToken> added = new ArrayList<>();
    private String decoderType;

    private TokenizerJson(Path file) {
        this.file = file;
    }

    static Vocabulary read(byte[] json, Path file) {
        TokenizerJson r = new TokenizerJson(file);
        try (JsonParser p = JsonFiles.JSON.createParser(json)) {
            r.parse(p);
        } catch (IOException e) {
            throw new TokenizerException(file + ": " + JsonFiles.describe(e), e);
        }
        if (r.vocab == null) {
            throw new TokenizerException(file + ": key 'model.vocab' missing");
        }
        if (!"ByteLevel".equals(r.decoderType)) {
            throw new TokenizerException(file + ": key 'decoder.type' is " + (r.decoderType == null ? "missing" : "'" + r.decoderType + "'")
                    + ", but only byte-level BPE tokenizers (Qwen2, decoder ByteLevel) are supported");
        }
        return Vocabulary.of(r.vocab, r.added, file.toString());
    }

    private void parse(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new TokenizerException(file + ": expected a JSON object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            p.nextToken();
            switch (key) {
                case "model" -> parseModel(p);
                case "added_tokens" -> parseAddedTokens(JsonFiles.JSON.readTree(p));
                case "decoder" -> {
                    JsonNode decoder = JsonFiles.JSON.readTree(p);
                    decoderType = decoder == null ? null : decoder.path("type").asText(null);
                }
                default -> p.skipChildren();
            }
        }
    }

    private void parseModel(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new TokenizerException(file + ": key 'model' must be an object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            p.nextToken();
            if (key.equals("vocab")) {
                vocab = readVocab(p, file, "model.vocab");
            } else {
                p.skipChildren();
            }
        }
    }

    /**
     * A {@code {"token": id, ...}} object, streamed; shared with vocab.json, which is one such object.
     *
     * @param key the object's key path in {@code file}, or null when it is the whole file
     */
    static Map<String, Integer> readVocab(JsonParser p, Path file, String key) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new TokenizerException(file + ": " + (key == null ? "expected a JSON object" : "key '" + key + "' must be an object")
                    + " of token -> id");
        }
        String where = key == null ? "" : "key '" + key + "': ";
        Map<String, Integer> vocab = new HashMap<>(1 << 18);
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String token = p.currentName();
            JsonToken value = p.nextToken();
            if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT || p.getIntValue() < 0) {
                throw new TokenizerException(file + ": " + where + "token '" + token + "' has id " + p.getText()
                        + ", expected a non-negative integer");
            }
            vocab.put(token, p.getIntValue());
        }
        return vocab;
    }

    private void parseAddedTokens(JsonNode list) {
        if (list == null || list.isNull()) {
            return;
        }
        if (!list.isArray()) {
            throw new TokenizerException(file + ": key 'added_tokens' must be a list");
        }
        for (int i = 0; i < list.size(); i++) {
            String where = "added_tokens[" + i + "]";
            JsonNode id = list.get(i).get("id");
            if (id == null || !id.canConvertToInt() || !id.isIntegralNumber() || id.asInt() < 0) {
                throw new TokenizerException(file + ": key '" + where + ".id' must be a non-negative integer, got " + id);
            }
            added.add(AddedToken.read(list.get(i), id.asInt(), file, where));
        }
    }
}
