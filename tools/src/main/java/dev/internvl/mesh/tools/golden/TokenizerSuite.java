package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import dev.internvl.mesh.tokenizer.StreamDecoder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * {@code tokenizer/cases.json}: each text encodes to exactly its ids (no special tokens added), and those ids decode
 * to exactly {@code decoded}, at once and streamed token by token.
 */
public final class TokenizerSuite implements GoldenSuite {
    static final String CASES = "tokenizer/cases.json";

    @Override
    public List<String> manifestKeys() {
        return List.of();
    }

    @Override
    public void run(GoldenSet set, Consumer<CaseResult> report) {
        Path file = set.resolve(CASES);
        if (!Files.isRegularFile(file)) {
            return;
        }
        JsonNode root;
        try {
            root = GoldenSet.readJson(file);
        } catch (RuntimeException e) {
            report.accept(CaseResult.failed(CASES, e.getMessage()));
            return;
        }
        JsonNode cases = root.path("cases");
        ModelTokenizer tokenizer;
        try {
            tokenizer = ModelTokenizer.load(TextGoldens.tokenizerDir(file, root));
        } catch (RuntimeException e) {
            for (int i = 0; i < cases.size(); i++) {
                report.accept(CaseResult.failed(id(i), "cannot load the tokenizer: " + e.getMessage()));
            }
            return;
        }
        try (tokenizer) {
            for (int i = 0; i < cases.size(); i++) {
                try {
                    report.accept(check(tokenizer, cases.get(i), id(i)));
                } catch (RuntimeException e) {
                    report.accept(CaseResult.failed(id(i), e.toString()));
                }
            }
        }
    }

    private static String id(int index) {
        return String.format("tokenizer/%02d", index);
    }

    private static CaseResult check(ModelTokenizer tokenizer, JsonNode c, String id) {
        int[] ids = TextGoldens.ints(c.get("ids"), "ids");
        String decoded = TextGoldens.text(c, "decoded");
        StreamDecoder stream = tokenizer.streamDecoder(false);
        StringBuilder streamed = new StringBuilder();
        for (int token : ids) {
            streamed.append(stream.next(token));
        }
        streamed.append(stream.finish());
        return new CaseBuilder(id)
                .exact("ids", tokenizer.encode(TextGoldens.text(c, "text")), ids)
                .exact("decoded", tokenizer.decode(ids), decoded)
                .exact("streamed", streamed.toString(), decoded)
                .build();
    }
}
