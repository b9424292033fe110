package dev.internvl.mesh.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import dev.internvl.mesh.testing.TestData;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PromptBuilderTest {
    private final ModelTokenizer tok = TestData.tokenizer();
    private final PromptBuilder builder = new PromptBuilder(tok, 256);

    @Test
    void matchesEveryTemplateGolden() {
        for (JsonNode c : TestData.templateCases()) {
            String name = c.get("name").asText();
            Prompt p = builder.build(request(c));
            assertEquals(c.get("expected_question_in_history").asText(), p.questionInHistory(), name);
            assertEquals(c.get("expected_prompt").asText(), p.text(), name);
            assertArrayEquals(TestData.ints(c.get("expected_input_ids")), p.ids(), name);
            assertEquals(p.ids().length, p.length(), name);
        }
    }

    /** Tokenising the text between images on its own gives what tokenising the whole prompt gives. */
    @Test
    void segmentsTokeniseLikeTheWholePrompt() {
        for (JsonNode c : TestData.templateCases()) {
            Prompt p = builder.build(request(c));
            assertArrayEquals(tok.encode(p.text()), p.ids(), c.get("name").asText());
        }
    }

    @Test
    void keepsEachImageAsOneSlot() {
        Prompt p = builder.build(ChatRequest.of("Image-1: <image>\nImage-2: <image>\nDescribe the two images in detail.", 7, 13));
        List<Prompt.Segment> s = p.segments();
        assertEquals(5, s.size());
        assertEquals(new Prompt.Image(0, 7, 7 * 256), s.get(1));
        assertEquals(new Prompt.Image(1, 13, 13 * 256), s.get(3));
        assertEquals(7 * 256 + 2, s.get(1).length());
        Prompt.Text first = (Prompt.Text) s.get(0);
        assertEquals("<|im_start|>system\n" + ChatTemplate.DEFAULT_SYSTEM_MESSAGE + "<|im_end|>\n<|im_start|>user\nImage-1: ", first.text());
        assertArrayEquals(tok.encode(first.text()), first.ids());
        assertEquals("\nImage-2: ", ((Prompt.Text) s.get(2)).text());
        assertEquals("\nDescribe the two images in detail.<|im_end|>\n<|im_start|>assistant\n", ((Prompt.Text) s.get(4)).text());
        assertEquals(s.stream().mapToInt(Prompt.Segment::length).sum(), p.length());
    }

    @Test
    void numImageTokenSetsTheContextRun() {
        Prompt p = new PromptBuilder(tok, 4).build(ChatRequest.of("Hi", 2));
        assertEquals("<|im_start|>system\n" + ChatTemplate.DEFAULT_SYSTEM_MESSAGE + "<|im_end|>\n<|im_start|>user\n<img>"
                + "<IMG_CONTEXT>".repeat(8) + "</img>\nHi<|im_end|>\n<|im_start|>assistant\n", p.text());
        assertEquals("<image>\nHi", p.questionInHistory());
    }

    @Test
    void rejectsMorePlaceholdersThanImages() {
        var e = assertThrows(IllegalArgumentException.class, () -> builder.build(ChatRequest.of("<image>\n<image>\nCompare.", 3)));
        assertEquals("the conversation has 2 <image> placeholder(s) but 1 image(s) were given: each image needs its own"
                + " <image>, in order, in the question or an earlier question of the history", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> builder.build(ChatRequest.of("What is <image>?")));
        assertEquals("the conversation has 1 <image> placeholder(s) but 0 image(s) were given: each image needs its own"
                + " <image>, in order, in the question or an earlier question of the history", e.getMessage());
    }

    @Test
    void rejectsMoreImagesThanPlaceholders() {
        // Upstream prepends a single "<image>\n" for a first question without one, whatever the number of images.
        var e = assertThrows(IllegalArgumentException.class, () -> builder.build(ChatRequest.of("Describe both.", 3, 5)));
        assertEquals("the conversation has 1 <image> placeholder(s) but 2 image(s) were given: each image needs its own"
                + " <image>, in order, in the question or an earlier question of the history", e.getMessage());
        // On a later turn nothing is prepended.
        ChatRequest later = new ChatRequest("And now?", List.of(new Turn("Hello", "Hi!")), List.of(3), null);
        e = assertThrows(IllegalArgumentException.class, () -> builder.build(later));
        assertEquals("the conversation has 0 <image> placeholder(s) but 1 image(s) were given: each image needs its own"
                + " <image>, in order, in the question or an earlier question of the history", e.getMessage());
    }

    @Test
    void rejectsBadSizes() {
        var e = assertThrows(IllegalArgumentException.class, () -> ChatRequest.of("<image><image>", 3, 0));
        assertEquals("image 2 has 0 tiles; every image has at least one", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new PromptBuilder(tok, 0));
        assertEquals("numImageToken must be positive, got 0", e.getMessage());
    }

    private static ChatRequest request(JsonNode c) {
        List<Turn> history = new ArrayList<>();
        c.get("history").forEach(t -> history.add(new Turn(t.get(0).asText(), t.get(1).asText())));
        List<Integer> tiles = new ArrayList<>();
        c.get("num_patches_list").forEach(n -> tiles.add(n.asInt()));
        JsonNode system = c.get("system_message");
        return new ChatRequest(c.get("question").asText(), history, tiles, system.isNull() ? null : system.asText());
    }
}
