package dev.internvl.mesh.tools.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.prompt.ChatRequest;
import dev.internvl.mesh.prompt.ChatTemplate;
import dev.internvl.mesh.prompt.Prompt;
import dev.internvl.mesh.prompt.PromptBuilder;
import dev.internvl.mesh.prompt.Turn;
import dev.internvl.mesh.tokenizer.ModelTokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * {@code template/cases.json}: the inputs of a {@code model.chat} call give exactly the expected prompt string,
 * input ids and question stored in the history. The tokenizer is the one the file names under
 * {@code "tokenizer"}, else the one of {@code tokenizer/cases.json}, which the template goldens were made with.
 */
public final class TemplateSuite implements GoldenSuite {
    static final String CASES = "template/cases.json";

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
        List<JsonNode> cases = new ArrayList<>();
        root.path("cases").forEach(cases::add);
        ModelTokenizer tokenizer;
        PromptBuilder builder;
        try {
            String template = root.path("template").asText();
            if (!template.equals(ChatTemplate.NAME)) {
                throw new IllegalArgumentException("template '" + template + "' is not implemented (only " + ChatTemplate.NAME + ")");
            }
            JsonNode numImageToken = root.get("num_image_token");
            if (numImageToken == null || !numImageToken.canConvertToInt()) {
                throw new IllegalArgumentException(file + ": key 'num_image_token' must be an integer");
            }
            tokenizer = ModelTokenizer.load(tokenizerDir(set, file, root));
            builder = new PromptBuilder(tokenizer, numImageToken.asInt());
        } catch (RuntimeException e) {
            cases.forEach(c -> report.accept(CaseResult.failed(id(c), e.getMessage())));
            return;
        }
        try (tokenizer) {
            for (JsonNode c : cases) {
                try {
                    report.accept(check(builder, c));
                } catch (RuntimeException e) {
                    report.accept(CaseResult.failed(id(c), e.toString()));
                }
            }
        }
    }

    private static Path tokenizerDir(GoldenSet set, Path file, JsonNode root) {
        if (root.has("tokenizer")) {
            return TextGoldens.tokenizerDir(file, root);
        }
        Path tokenizerCases = set.resolve(TokenizerSuite.CASES);
        if (!Files.isRegularFile(tokenizerCases)) {
            throw new IllegalArgumentException(file + " names no tokenizer and there is no " + tokenizerCases);
        }
        return TextGoldens.tokenizerDir(tokenizerCases, GoldenSet.readJson(tokenizerCases));
    }

    private static String id(JsonNode c) {
        return "template/" + c.path("name").asText("?");
    }

    private static CaseResult check(PromptBuilder builder, JsonNode c) {
        List<Turn> history = new ArrayList<>();
        c.path("history").forEach(t -> history.add(new Turn(t.path(0).asText(), t.path(1).asText())));
        List<Integer> tiles = new ArrayList<>();
        for (int n : TextGoldens.ints(c.get("num_patches_list"), "num_patches_list")) {
            tiles.add(n);
        }
        JsonNode system = c.get("system_message");
        Prompt prompt = builder.build(new ChatRequest(TextGoldens.text(c, "question"), history, tiles,
                system == null || system.isNull() ? null : system.asText()));
        return new CaseBuilder(id(c))
                .exact("question_in_history", prompt.questionInHistory(), TextGoldens.text(c, "expected_question_in_history"))
                .exact("prompt", prompt.text(), TextGoldens.text(c, "expected_prompt"))
                .exact("input_ids", prompt.ids(), TextGoldens.ints(c.get("expected_input_ids"), "expected_input_ids"))
                .build();
    }
}
