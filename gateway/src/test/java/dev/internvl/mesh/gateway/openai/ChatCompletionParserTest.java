package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.gateway.openai.Content.Image;
import dev.internvl.mesh.gateway.openai.Content.Text;
import dev.internvl.mesh.gateway.openai.ChatCompletionRequest.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatCompletionParserTest {
    private final ChatCompletionParser parser = new ChatCompletionParser(new ObjectMapper());

    private ChatCompletionRequest parse(String json) {
        return parser.parse(json.replace('\'', '"').getBytes(StandardCharsets.UTF_8));
    }

    private ApiError error(String json) {
        return assertThrows(ApiError.class, () -> parse(json));
    }

    @Test
    void parsesInterleavedImagesAndTextInOrder() {
        ChatCompletionRequest r = parse("""
                {'model': 'InternVL2_5-1B', 'stream': true, 'stream_options': {'include_usage': true},
                 'messages': [
                   {'role': 'system', 'content': 'Be brief.'},
                   {'role': 'user', 'content': [
                      {'type': 'text', 'text': 'Compare'},
                      {'type': 'image_url', 'image_url': {'url': 'data:image/png;base64,AAAA', 'max_dynamic_patch': 4}},
                      {'type': 'text', 'text': 'with'},
                      {'type': 'image_url', 'image_url': {'url': 'data:image/png;base64,BBBB', 'detail': 'auto'}}]}],
                 'max_tokens': 64, 'temperature': 0.7, 'top_p': 0.9, 'top_k': 40, 'repetition_penalty': 1.1,
                 'stop': ['###'], 'seed': 7, 'logprobs': true, 'top_logprobs': 3}""".replace("'detail': 'auto'", "'max_dynamic_patch': 2"));
        assertEquals("InternVL2_5-1B", r.model());
        assertTrue(r.generation().stream());
        assertTrue(r.generation().includeUsage());
        assertEquals(Role.SYSTEM, r.messages().get(0).role());
        var parts = r.messages().get(1).content();
        assertEquals(new Text("Compare"), parts.get(0));
        assertEquals(new Image("data:image/png;base64,AAAA", Optional.of(4)), parts.get(1));
        assertInstanceOf(Text.class, parts.get(2));
        assertEquals(2, r.imageCount());
        assertEquals(Optional.of(64), r.generation().options().maxTokens());
        assertEquals(List.of("###"), r.generation().options().stop());
        assertEquals(Optional.of(7L), r.generation().options().seed());
        assertEquals(3, r.generation().options().topLogprobs());
    }

    @Test
    void plainStringContentAndDefaults() {
        ChatCompletionRequest r = parse("{'model': 'm', 'messages': [{'role': 'user', 'content': 'Hi'}], 'stop': 'END'}");
        assertFalse(r.generation().stream());
        assertEquals(Optional.empty(), r.generation().options().maxTokens());
        assertEquals(Optional.empty(), r.generation().options().temperature());
        assertEquals(List.of("END"), r.generation().options().stop());
    }

    @Test
    void maxCompletionTokensWinsOverTheDeprecatedMaxTokens() {
        ChatCompletionRequest r = parse("{'model': 'm', 'messages': [{'role': 'user', 'content': 'Hi'}], 'max_tokens': 5, 'max_completion_tokens': 9}");
        assertEquals(Optional.of(9), r.generation().options().maxTokens());
    }

    @Test
    void malformedJson() {
        ApiError e = error("{'model': 'm', 'messages': [");
        assertEquals(400, e.status());
        assertEquals("invalid_request_error", e.type());
        assertTrue(e.getMessage().startsWith("We could not parse the JSON body of your request"), e.getMessage());
    }

    @Test
    void unknownArgumentIsNamed() {
        ApiError e = error("{'model': 'm', 'messages': [{'role': 'user', 'content': 'Hi'}], 'temprature': 1}");
        assertEquals("Unrecognized request argument supplied: temprature", e.getMessage());
        assertEquals("temprature", e.param());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "'temperature': 3 | Invalid value for 'temperature': 3 is outside [0, 2]. | temperature",
            "'top_p': 0 | Invalid value for 'top_p': 0 is outside (0, 1]. | top_p",
            "'max_tokens': 0 | Invalid value for 'max_tokens': 0 is less than the minimum of 1. | max_tokens",
            "'max_tokens': 'ten' | Invalid type for 'max_tokens': expected an integer. | max_tokens",
            "'stream': 'yes' | Invalid type for 'stream': expected a boolean. | stream",
            "'n': 2 | Only n=1 is supported. | n",
            "'stop': ['a','b','c','d','e'] | 'stop' may hold at most 4 sequences. | stop",
            "'stream_options': {'include_usage': true} | The 'stream_options' parameter is only allowed when 'stream' is enabled. | stream_options",
            "'top_logprobs': 2 | 'top_logprobs' requires 'logprobs' to be true. | top_logprobs",
            "'presence_penalty': 0.5 | 'presence_penalty' is not supported; use 'repetition_penalty'. | presence_penalty",
            "'tools': [] | 'tools' is not supported by this model. | tools",
    })
    void badParameterValues(String extra, String message, String param) {
        ApiError e = error("{'model': 'm', 'messages': [{'role': 'user', 'content': 'Hi'}], " + extra + "}");
        assertEquals(message, e.getMessage());
        assertEquals(param, e.param());
    }

    @Test
    void badMessages() {
        assertEquals("Missing required parameter: 'messages'.", error("{'model': 'm'}").getMessage());
        assertEquals("'messages' must be a non-empty array.", error("{'model': 'm', 'messages': []}").getMessage());
        assertEquals("Missing required parameter: 'model'.", error("{'messages': [{'role': 'user', 'content': 'x'}]}").getMessage());
        assertEquals("Invalid value for 'messages[0].role': 'tool'. Supported values are: 'system', 'developer', 'user' and 'assistant'.",
                error("{'model': 'm', 'messages': [{'role': 'tool', 'content': 'x'}]}").getMessage());
        assertEquals("The last message must have role 'user'.",
                error("{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}, {'role': 'assistant', 'content': 'y'}]}").getMessage());
        assertEquals("Invalid value for 'messages[0].content[0].type': 'audio'. Supported values are: 'text' and 'image_url'.",
                error("{'model': 'm', 'messages': [{'role': 'user', 'content': [{'type': 'audio'}]}]}").getMessage());
        assertEquals("Missing required parameter: 'messages[0].content[0].image_url.url'.",
                error("{'model': 'm', 'messages': [{'role': 'user', 'content': [{'type': 'image_url', 'image_url': {}}]}]}").getMessage());
        assertEquals("Image content is only allowed in 'user' messages.",
                error("{'model': 'm', 'messages': [{'role': 'system', 'content': [{'type': 'image_url', 'image_url': {'url': 'x'}}]}, {'role': 'user', 'content': 'x'}]}").getMessage());
    }

    @Test
    void theImagePlaceholderIsReserved() {
        ApiError e = error("{'model': 'm', 'messages': [{'role': 'user', 'content': 'look: <image>'}]}");
        assertEquals("'messages[0].content' contains the reserved placeholder <image>: send images as image content parts.", e.getMessage());
    }

    @Test
    void errorBodyHasTheOpenAiShape() {
        ApiError e = error("{'model': 'm', 'messages': [{'role': 'user', 'content': 'Hi'}], 'temprature': 1}");
        String body = e.toJson(new ObjectMapper()).toString();
        assertEquals("{\"error\":{\"message\":\"Unrecognized request argument supplied: temprature\","
                + "\"type\":\"invalid_request_error\",\"param\":\"temprature\",\"code\":null}}", body);
    }
}
