package dev.internvl.mesh.tokenizer;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The slow-tokenizer layout of a hub repository (vocab.json, merges.txt, added_tokens.json, tokenizer_config.json,
 * special_tokens_map.json) turned into the tokenizer.json that transformers' Qwen2 converter builds from it: NFC,
 * the Qwen2 split regex then ByteLevel without a prefix space, BPE without an unknown token, ByteLevel decoder.
 */
final class HubTokenizerFiles {
    static final String VOCAB = "vocab.json";
    static final String MERGES = "merges.txt";
    static final String ADDED_TOKENS = "added_tokens.json";
    static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    static final String SPECIAL_TOKENS_MAP = "special_tokens_map.json";

    /** Qwen2's pre-tokenizer pattern: contractions, letter runs, single digits, punctuation, newlines, spaces. */
    private static final String QWEN2_SPLIT =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final List<String> SPECIAL_TOKEN_KEYS =
            List.of("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token");

    record Built(byte[] tokenizerJson, Vocabulary vocabulary) {
    }

    private HubTokenizerFiles() {
    }

    static Built build(Path dir) {
        Path vocabFile = dir.resolve(VOCAB);
        Map<String, Integer> vocab = readVocab(vocabFile);
        List<String[]> merges = readMerges(dir.resolve(MERGES), vocab);
        Collection<AddedToken> added = readAddedTokens(dir);
        byte[] json = write(vocab, merges, added);
        return new Built(json, Vocabulary.of(vocab, added, vocabFile.toString()));
    }

    private static Map<String, Integer> readVocab(Path file) {
        try (JsonParser p = JsonFiles.JSON.createParser(file.toFile())) {
            p.nextToken();
            return TokenizerJson.readVocab(p, file, null);
        } catch (IOException e) {
            throw new TokenizerException(file + ": " + JsonFiles.describe(e), e);
        }
    }

    /**
     * One merge per line, the two parts split by a space, after an optional "#version" first line. The library
     * needs both parts and their concatenation in the vocabulary; checking here gives the line at fault.
     */
    private static List<String[]> readMerges(Path file, Map<String, Integer> vocab) {
        List<String[]> merges = new ArrayList<>(1 << 18);
        try (BufferedReader in = Files.newBufferedReader(file)) {
            String line;
            int n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                String merge = line.strip();
                if (merge.isEmpty() || (n == 1 && merge.startsWith("#version"))) {
                    continue;
                }
                String[] parts = merge.split(" ");
                if (parts.length != 2) {
                    throw new TokenizerException(file + ":" + n + ": expected two tokens separated by one space, got '" + merge + "'");
                }
                for (String part : new String[] {parts[0], parts[1], parts[0] + parts[1]}) {
                    if (!vocab.containsKey(part)) {
                        throw new TokenizerException(file + ":" + n + ": merge '" + merge + "' needs the token '" + part
                                + "', which " + VOCAB + " does not have");
                    }
                }
                merges.add(parts);
            }
        } catch (IOException e) {
            throw new TokenizerException(file + ": cannot read as UTF-8 text: " + e, e);
        }
        return merges;
    }

    /**
     * tokenizer_config.json's {@code added_tokens_decoder} where present (it has every flag); tokens only in
     * added_tokens.json are special when a special-token key of special_tokens_map.json or tokenizer_config.json
     * names them, as transformers does. Ordered by id.
     */
    private static Collection<AddedToken> readAddedTokens(Path dir) {
        TreeMap<Integer, AddedToken> byId = new TreeMap<>();
        Set<String> specialNames = new HashSet<>();
        Path configFile = dir.resolve(TOKENIZER_CONFIG);
        if (Files.exists(configFile)) {
            JsonNode config = JsonFiles.readObject(configFile);
            readAddedTokensDecoder(config, configFile, byId);
            collectSpecialNames(config, configFile, specialNames);
        }
        Path mapFile = dir.resolve(SPECIAL_TOKENS_MAP);
        if (Files.exists(mapFile)) {
            collectSpecialNames(JsonFiles.readObject(mapFile), mapFile, specialNames);
        }
        Path addedFile = dir.resolve(ADDED_TOKENS);
        if (Files.exists(addedFile)) {
            Map<String, AddedToken> byContent = new HashMap<>();
            byId.values().forEach(t -> byContent.put(t.content(), t));
            for (var e : JsonFiles.readObject(addedFile).properties()) {
                String content = e.getKey();
                JsonNode id = e.getValue();
                if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0) {
                    throw new TokenizerException(addedFile + ": token '" + content + "' has id " + id + ", expected a non-negative integer");
                }
                AddedToken known = byContent.get(content);
                if (known != null && known.id() != id.asInt()) {
                    throw new TokenizerException(addedFile + ": token '" + content + "' has id " + id.asInt() + ", but "
                            + TOKENIZER_CONFIG + "'s added_tokens_decoder gives it " + known.id());
                }
                if (known == null) {
                    boolean special = specialNames.contains(content);
                    byId.put(id.asInt(), new AddedToken(id.asInt(), content, special, false, false, false, !special));
                }
            }
        }
        return byId.values();
    }

    private static void readAddedTokensDecoder(JsonNode config, Path file, Map<Integer, AddedToken> out) {
        JsonNode decoder = config.get("added_tokens_decoder");
        if (decoder == null || decoder.isNull()) {
            return;
        }
        if (!decoder.isObject()) {
            throw new TokenizerException(file + ": key 'added_tokens_decoder' must be an object of id -> token");
        }
        for (var e : decoder.properties()) {
            String where = "added_tokens_decoder." + e.getKey();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                id = -1;
            }
            if (id < 0) {
                throw new TokenizerException(file + ": key '" + where + "': the key must be a non-negative integer id");
            }
            out.put(id, AddedToken.read(e.getValue(), id, file, where));
        }
    }

    private static void collectSpecialNames(JsonNode root, Path file, Set<String> out) {
        for (String key : SPECIAL_TOKEN_KEYS) {
            addSpecialName(root.get(key), file, key, out);
        }
        JsonNode extra = root.get("additional_special_tokens");
        if (extra != null && !extra.isNull()) {
            if (!extra.isArray()) {
                throw new TokenizerException(file + ": key 'additional_special_tokens' must be a list");
            }
            for (int i = 0; i < extra.size(); i++) {
                addSpecialName(extra.get(i), file, "additional_special_tokens[" + i + "]", out);
            }
        }
    }

    /** A special-token value: a string, an object with a string {@code content}, or null for none. */
    private static void addSpecialName(JsonNode value, Path file, String key, Set<String> out) {
        if (value == null || value.isNull()) {
            return;
        }
        JsonNode content = value.isObject() ? value.get("content") : value;
        if (content == null || !content.isTextual()) {
            throw new TokenizerException(file + ": key '" + key + "' must be a string or an object with a string 'content', got " + value);
        }
        out.add(content.asText());
    }

    private static byte[] write(Map<String, Integer> vocab, List<String[]> merges, Collection<AddedToken> added) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8 << 20);
        try (JsonGenerator g = JsonFiles.JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("version", "1.0");
            g.writeNullField("truncation");
            g.writeNullField("padding");
            g.writeArrayFieldStart("added_tokens");
            for (AddedToken t : added) {
                g.writeStartObject();
                g.writeNumberField("id", t.id());
                g.writeStringField("content", t.content());
                g.writeBooleanField("single_word", t.singleWord());
                g.writeBooleanField("lstrip", t.lstrip());
                g.writeBooleanField("rstrip", t.rstrip());
                g.writeBooleanField("normalized", t.normalized());
                g.writeBooleanField("special", t.special());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeObjectFieldStart("normalizer");
            g.writeStringField("type", "NFC");
            g.writeEndObject();
            g.writeObjectFieldStart("pre_tokenizer");
            g.writeStringField("type", "Sequence");
            g.writeArrayFieldStart("pretokenizers");
            g.writeStartObject();
            g.writeStringField("type", "Split");
            g.writeObjectFieldStart("pattern");
            g.writeStringField("Regex", QWEN2_SPLIT);
            g.writeEndObject();
            g.writeStringField("behavior", "Isolated");
            g.writeBooleanField("invert", false);
            g.writeEndObject();
            writeByteLevel(g, null);
            g.writeEndArray();
            g.writeEndObject();
            writeByteLevel(g, "post_processor");
            writeByteLevel(g, "decoder");
            g.writeObjectFieldStart("model");
            g.writeStringField("type", "BPE");
            g.writeNullField("dropout");
            g.writeNullField("unk_token");
            g.writeStringField("continuing_subword_prefix", "");
            g.writeStringField("end_of_word_suffix", "");
            g.writeBooleanField("fuse_unk", false);
            g.writeBooleanField("byte_fallback", false);
            g.writeBooleanField("ignore_merges", false);
            g.writeObjectFieldStart("vocab");
            for (var e : vocab.entrySet()) {
                g.writeNumberField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
            g.writeArrayFieldStart("merges");
            for (String[] m : merges) {
                g.writeArray(m, 0, 2);
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writing to memory
        }
        return out.toByteArray();
    }

    /** A ByteLevel component without prefix space or its own regex (the Split before it does the splitting). */
    private static void writeByteLevel(JsonGenerator g, String field) throws IOException {
        if (field == null) {
            g.writeStartObject();
        } else {
            g.writeObjectFieldStart(field);
        }
        g.writeStringField("type", "ByteLevel");
        g.writeBooleanField("add_prefix_space", false);
        g.writeBooleanField("trim_offsets", false);
        g.writeBooleanField("use_regex", false);
        g.writeEndObject();
    }
}
