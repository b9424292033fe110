package dev.internvl.mesh.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The ids of the tokens InternVL 2.5 prompts and generation rely on, resolved by their strings in the tokenizer,
 * and the ids that end a generation.
 *
 * @param stopTokenIds {@code <|im_end|>} (the internvl2_5 template's separator, which upstream {@code chat()} makes
 *                     the eos token), then each {@code eos_token_id} of generation_config.json not already listed
 */
public record SpecialTokens(int imgStart, int imgEnd, int imgContext, int imStart, int imEnd, int endOfText,
                            List<Integer> stopTokenIds) {
    public static final String IMG_START = "<img>";
    public static final String IMG_END = "</img>";
    public static final String IMG_CONTEXT = "<IMG_CONTEXT>";
    public static final String IM_START = "<|im_start|>";
    public static final String IM_END = "<|im_end|>";
    public static final String END_OF_TEXT = "<|endoftext|>";
    private static final String GENERATION_CONFIG = "generation_config.json";

    private static final String ALL = String.join(", ", IMG_START, IMG_END, IMG_CONTEXT, IM_START, IM_END, END_OF_TEXT);

    public SpecialTokens {
        stopTokenIds = List.copyOf(stopTokenIds);
    }

    public boolean isStop(int id) {
        return stopTokenIds.contains(id);
    }

    /**
     * @param origin the file the tokens should be in, named when one is missing
     * @param dir    the model directory, whose generation_config.json (if any) adds stop tokens
     */
    static SpecialTokens resolve(Vocabulary vocab, String origin, Path dir) {
        int imEnd = require(vocab, origin, IM_END);
        return new SpecialTokens(
                requireImageToken(vocab, origin, IMG_START),
                requireImageToken(vocab, origin, IMG_END),
                requireImageToken(vocab, origin, IMG_CONTEXT),
                require(vocab, origin, IM_START),
                imEnd,
                require(vocab, origin, END_OF_TEXT),
                stopTokens(imEnd, dir.resolve(GENERATION_CONFIG), vocab));
    }

    private static int require(Vocabulary vocab, String origin, String token) {
        Integer id = vocab.id(token);
        if (id == null) {
            throw new TokenizerException(origin + ": no token '" + token + "' (InternVL 2.5 prompts need " + ALL + ")");
        }
        return id;
    }

    /**
     * Prompts tokenise the text between images on its own and put the image tokens' ids in directly; that equals
     * tokenising the whole prompt only if each image token is an added token matched exactly where it stands.
     */
    private static int requireImageToken(Vocabulary vocab, String origin, String token) {
        int id = require(vocab, origin, token);
        AddedToken t = vocab.added(token);
        if (t == null || t.lstrip() || t.rstrip() || t.singleWord()) {
            throw new TokenizerException(origin + ": '" + token + "' must be an added token without lstrip, rstrip or "
                    + "single_word, so that it never changes how the text around an image tokenises");
        }
        return id;
    }

    private static List<Integer> stopTokens(int imEnd, Path file, Vocabulary vocab) {
        List<Integer> stop = new ArrayList<>(List.of(imEnd));
        if (!Files.exists(file)) {
            return stop;
        }
        JsonNode eos = JsonFiles.readObject(file).get("eos_token_id");
        if (eos == null || eos.isNull()) {
            return stop;
        }
        List<JsonNode> ids = new ArrayList<>();
        if (eos.isArray()) {
            eos.forEach(ids::add);
        } else {
            ids.add(eos);
        }
        for (JsonNode id : ids) {
            if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                throw new TokenizerException(file + ": key 'eos_token_id' must be an integer or a list of integers, got " + eos);
            }
            if (vocab.token(id.asInt()) == null) {
                throw new TokenizerException(file + ": key 'eos_token_id': " + id.asInt() + " is not a token id (the vocabulary has "
                        + vocab.size() + " ids)");
            }
            if (!stop.contains(id.asInt())) {
                stop.add(id.asInt());
            }
        }
        return stop;
    }
}
