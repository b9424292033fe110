package dev.internvl.mesh.gateway.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.gateway.chat.ChatPlanner.Image;
import dev.internvl.mesh.gateway.chat.ChatPlanner.Message;
import dev.internvl.mesh.gateway.chat.ChatPlanner.Role;
import dev.internvl.mesh.gateway.chat.ChatPlanner.Text;
import dev.internvl.mesh.gateway.openai.ApiError;
import dev.internvl.mesh.prompt.PromptBuilder;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The planner against the template goldens: OpenAI-shaped messages must give upstream's exact prompt ids. */
class ChatPlannerTest {
    static final Path GOLDEN = Path.of("../testdata/golden");
    static ModelTokenizer tokenizer;
    static JsonNode cases;

    /** Tile counts are given per image by the test (as bytes[0]); the real counter is core's tiling. */
    final List<int[]> counted = new ArrayList<>();
    final ChatPlanner planner = new ChatPlanner(new PromptBuilder(tokenizer, 256), (bytes, min, max, param) -> {
        counted.add(new int[]{min, max});
        return bytes[0];
    }, 1, 12);

    @BeforeAll
    static void load() throws IOException {
        tokenizer = ModelTokenizer.load(GOLDEN.resolve("tokenizer/internvl2_5-qwen2"));
        cases = new ObjectMapper().readTree(GOLDEN.resolve("template/cases.json").toFile()).get("cases");
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    static JsonNode golden(String name) {
        for (JsonNode c : cases) {
            if (c.get("name").asText().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("no template case " + name);
    }

    static int[] ids(JsonNode c) {
        int[] out = new int[c.get("expected_input_ids").size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = c.get("expected_input_ids").get(i).asInt();
        }
        return out;
    }

    static Image image(int tiles) {
        return new Image(new byte[]{(byte) tiles}, Optional.empty(), "messages[0].content[0].image_url.url");
    }

    @Test
    void systemMessageAndImageBeforeText() {
        var plan = planner.plan(List.of(
                new Message(Role.SYSTEM, List.of(new Text("You are a terse assistant."))),
                new Message(Role.USER, List.of(image(1), new Text("What is in the picture?")))), Optional.empty());
        assertArrayEquals(ids(golden("custom-system")), plan.prompt().ids());
        assertEquals(1, plan.images().size());
    }

    @Test
    void imageInAnEarlierTurnStaysInItsTurn() {
        var plan = planner.plan(List.of(
                new Message(Role.USER, List.of(image(5), new Text("Please describe the image in detail."))),
                new Message(Role.ASSISTANT, List.of(new Text("A red panda on a branch."))),
                new Message(Role.USER, List.of(new Text("Please write a poem according to the image.")))), Optional.empty());
        assertArrayEquals(ids(golden("single-image-second-turn")), plan.prompt().ids());
    }

    @Test
    void textOnlyMultiTurnUsesTheDefaultSystemMessage() {
        var plan = planner.plan(List.of(
                new Message(Role.USER, List.of(new Text("Hello, who are you?"))),
                new Message(Role.ASSISTANT, List.of(new Text("I am InternVL."))),
                new Message(Role.USER, List.of(new Text("Can you tell me a story?")))), Optional.empty());
        assertArrayEquals(ids(golden("text-only-second-turn")), plan.prompt().ids());
        assertEquals(List.of(), plan.images());
    }

    @Test
    void interleavedImagesKeepTheirPlaces() {
        var plan = planner.plan(List.of(new Message(Role.USER, List.of(
                new Text("Image-1: "), image(7), new Text("Image-2: "), image(13), new Text("Describe the two images in detail.")))),
                Optional.empty());
        String text = plan.prompt().text();
        int first = text.indexOf("Image-1: \n<img>");
        int second = text.indexOf("Image-2: \n<img>");
        assertEquals(true, first > 0 && second > first, text.substring(0, Math.min(400, text.length())));
        assertEquals(List.of(7, 13), plan.images().stream().map(ChatPlanner.PlannedImage::tiles).toList());
    }

    @Test
    void tileLimitsComeFromThePartThenTheRequestThenTheModel() {
        planner.plan(List.of(new Message(Role.USER, List.of(
                new Image(new byte[]{1}, Optional.of(4), "p"), image(1), new Text("x")))), Optional.of(6));
        assertArrayEquals(new int[]{1, 4}, counted.get(0));
        assertArrayEquals(new int[]{1, 6}, counted.get(1));
        planner.plan(List.of(new Message(Role.USER, List.of(image(1)))), Optional.empty());
        assertArrayEquals(new int[]{1, 12}, counted.get(2));
    }

    @Test
    void consecutiveUserMessagesAreJoined() {
        var joined = planner.plan(List.of(
                new Message(Role.USER, List.of(new Text("Hello,"))),
                new Message(Role.USER, List.of(new Text("who are you?")))), Optional.empty());
        assertEquals(true, joined.prompt().text().contains("user\nHello,\nwho are you?<|im_end|>"));
    }

    @Test
    void conversationMustStartWithAUserMessage() {
        ApiError e = assertThrows(ApiError.class, () -> planner.plan(List.of(
                new Message(Role.ASSISTANT, List.of(new Text("Hi"))),
                new Message(Role.USER, List.of(new Text("Hello")))), Optional.empty()));
        assertEquals("The conversation must start with a 'user' message after any system messages.", e.getMessage());
    }
}
