package dev.internvl.mesh.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;

/**
 * An entry of the added vocabulary, with the matching flags of the HF tokenizers library: added tokens are found in
 * the text before BPE runs, so each comes out as one id.
 */
record AddedToken(int id, String content, boolean special, boolean singleWord, boolean lstrip, boolean rstrip,
                  boolean normalized) {

    /**
     * Reads one entry in the shape both tokenizer.json's {@code added_tokens} and tokenizer_config.json's
     * {@code added_tokens_decoder} use; {@code where} is the entry's key path for error messages.
     */
    static AddedToken read(JsonNode entry, int id, Path file, String where) {
        if (entry == null || !entry.isObject()) {
            throw new TokenizerException(file + ": key '" + where + "' must be an object, got " + entry);
        }
        JsonNode content = entry.get("content");
        if (content == null || !content.isTextual() || content.asText().isEmpty()) {
            throw new TokenizerException(file + ": key '" + where + ".content' must be a non-empty string, got " + content);
        }
        return new AddedToken(id, content.asText(),
                JsonFiles.flag(entry, "special", false, file, where),
                JsonFiles.flag(entry, "single_word", false, file, where),
                JsonFiles.flag(entry, "lstrip", false, file, where),
                JsonFiles.flag(entry, "rstrip", false, file, where),
                JsonFiles.flag(entry, "normalized", false, file, where));
    }
}
