package dev.internvl.mesh.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The tokenizer of a model directory, run by the HF tokenizers library (through DJL). Loads {@code tokenizer.json}
 * when the directory has one, and otherwise builds the same tokenizer from the hub's slow-tokenizer files
 * ({@code vocab.json} + {@code merges.txt} + added tokens). Encoding adds no special tokens; special-token strings
 * in the text (such as {@code <img>}) come out as their single ids. Loading parses several MB of JSON (around a
 * second on a cold JVM): keep one per process. Thread-safe.
 */
public final class ModelTokenizer implements AutoCloseable {
    private static final String TOKENIZER_JSON = "tokenizer.json";

    /**
     * The library's options, all given: by default DJL truncates to a maximum length (512, or the
     * model_max_length of the tokenizer_config.json its directory loaders read), which would cut image prompts of
     * thousands of tokens without a word.
     */
    private static final Map<String, String> LIBRARY_OPTIONS =
            Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

    private final HuggingFaceTokenizer library;
    private final Vocabulary vocab;
    private final SpecialTokens specialTokens;

    private ModelTokenizer(HuggingFaceTokenizer library, Vocabulary vocab, SpecialTokens specialTokens) {
        this.library = library;
        this.vocab = vocab;
        this.specialTokens = specialTokens;
    }

    /** @throws TokenizerException when the files are missing or broken; the message names the file at fault */
    public static ModelTokenizer load(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new TokenizerException(dir + ": not a directory");
        }
        Path json = dir.resolve(TOKENIZER_JSON);
        Path vocabFile = dir.resolve(HubTokenizerFiles.VOCAB);
        Path mergesFile = dir.resolve(HubTokenizerFiles.MERGES);
        if (Files.isRegularFile(json)) {
            return loadTokenizerJson(dir, json);
        }
        if (Files.isRegularFile(vocabFile) && Files.isRegularFile(mergesFile)) {
            HubTokenizerFiles.Built built = HubTokenizerFiles.build(dir);
            String origin = addedTokensOrigin(dir);
            SpecialTokens special = SpecialTokens.resolve(built.vocabulary(), origin, dir);
            String input = dir + ": the tokenizer.json built from " + HubTokenizerFiles.VOCAB + " and " + HubTokenizerFiles.MERGES;
            return checked(library(built.tokenizerJson(), input), built.vocabulary(), special, origin);
        }
        throw missingFiles(dir, vocabFile, mergesFile);
    }

    /** The library parses the file on another thread while this one reads what it needs from it: similar work. */
    private static ModelTokenizer loadTokenizerJson(Path dir, Path json) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(json);
        } catch (IOException e) {
            throw new TokenizerException(json + ": cannot read: " + e, e);
        }
        CompletableFuture<HuggingFaceTokenizer> library = CompletableFuture.supplyAsync(() -> library(bytes, json.toString()));
        Vocabulary vocab;
        SpecialTokens special;
        try {
            vocab = TokenizerJson.read(bytes, json);
            special = SpecialTokens.resolve(vocab, json.toString(), dir);
        } catch (RuntimeException e) {
            library.thenAccept(HuggingFaceTokenizer::close);
            throw e;
        }
        try {
            return checked(library.join(), vocab, special, json.toString());
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) { // e.g. the native library does not load on this platform
                throw err;
            }
            throw e;
        }
    }

    /**
     * The library numbers added tokens that are not in the BPE vocabulary itself (from the vocabulary's end, no
     * gaps), whatever ids the files give them; this side must agree with it on every one.
     */
    private static ModelTokenizer checked(HuggingFaceTokenizer library, Vocabulary vocab, SpecialTokens special, String origin) {
        for (AddedToken t : vocab.addedTokens()) {
            long[] ids = library.encode(t.content(), false, false).getIds();
            if (ids.length != 1 || ids[0] != t.id()) {
                library.close();
                throw new TokenizerException(origin + ": added token '" + t.content() + "' has id " + t.id()
                        + ", but the HF tokenizers library encodes it as " + Arrays.toString(ids)
                        + " (it numbers added tokens missing from the BPE vocabulary on from the vocabulary's end, without gaps)");
            }
        }
        return new ModelTokenizer(library, vocab, special);
    }

    /** Where the hub layout keeps its added tokens: named when a special token is missing. */
    private static String addedTokensOrigin(Path dir) {
        for (String name : new String[] {HubTokenizerFiles.ADDED_TOKENS, HubTokenizerFiles.TOKENIZER_CONFIG}) {
            if (Files.exists(dir.resolve(name))) {
                return dir.resolve(name).toString();
            }
        }
        return dir.resolve(HubTokenizerFiles.VOCAB).toString();
    }

    private static TokenizerException missingFiles(Path dir, Path vocabFile, Path mergesFile) {
        if (Files.isRegularFile(vocabFile)) {
            return new TokenizerException(mergesFile + ": missing: " + HubTokenizerFiles.VOCAB
                    + " needs the merges.txt beside it (or ship tokenizer.json)");
        }
        if (Files.isRegularFile(mergesFile)) {
            return new TokenizerException(vocabFile + ": missing: " + HubTokenizerFiles.MERGES
                    + " needs the vocab.json beside it (or ship tokenizer.json)");
        }
        String hint = Files.exists(dir.resolve("tokenizer.model"))
                ? "; tokenizer.model (SentencePiece, as in the InternLM2-based models) is not supported" : "";
        return new TokenizerException(dir + ": no tokenizer files: expected tokenizer.json, or vocab.json + merges.txt"
                + " (+ added_tokens.json, tokenizer_config.json)" + hint);
    }

    private static HuggingFaceTokenizer library(byte[] tokenizerJson, String input) {
        try {
            return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokenizerJson), LIBRARY_OPTIONS);
        } catch (IOException | RuntimeException e) {
            throw new TokenizerException(input + ": rejected by the HF tokenizers library: " + e.getMessage(), e);
        }
    }

    /** The ids of {@code text}, without added special tokens. */
    public int[] encode(String text) {
        long[] ids = library.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    /** The text of {@code ids}, special tokens included. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            vocab.checkId(ids[i]); // the library would drop an unknown id without a word
            wide[i] = ids[i];
        }
        return library.decode(wide, skipSpecialTokens);
    }

    /** A decoder for one stream of generated tokens. */
    public StreamDecoder streamDecoder(boolean skipSpecialTokens) {
        return new StreamDecoder(vocab, skipSpecialTokens);
    }

    /** One past the largest token id (151,674 for InternVL 2.5's Qwen2 tokenizer): the embedding table's rows. */
    public int vocabSize() {
        return vocab.size();
    }

    /**
     * The id of a token, given as the tokenizer stores it: added tokens as written ({@code <img>}), BPE tokens in
     * their byte-level spelling ({@code "Ġthe"} for " the").
     */
    public OptionalInt tokenId(String token) {
        Integer id = vocab.id(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    public SpecialTokens specialTokens() {
        return specialTokens;
    }

    @Override
    public void close() {
        library.close();
    }
}
