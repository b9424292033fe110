package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.gateway.chat.ChatPlanner;
import dev.internvl.mesh.gateway.chat.ChatService;
import dev.internvl.mesh.gateway.http.HttpExchange;
import dev.internvl.mesh.gateway.http.HttpServer;
import dev.internvl.mesh.gateway.images.ImageLoader;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /v1/chat/completions}: parse and check the body, load its images and wait for admission (both may
 * block, so this runs on a worker), and stream the answer back as the OpenAI API does.
 */
public final class ChatCompletionsHandler implements HttpServer.Handler {
    private final ChatCompletionParser parser;
    private final ObjectMapper json;
    private final ChatService chat;
    private final ImageLoader images;
    private final String modelName;

    public ChatCompletionsHandler(ObjectMapper json, ChatService chat, ImageLoader images, String modelName) {
        this.parser = new ChatCompletionParser(json);
        this.json = json;
        this.chat = chat;
        this.images = images;
        this.modelName = modelName;
    }

    @Override
    public void handle(HttpExchange exchange) {
        ChatCompletionRequest request = parser.parse(exchange.body());
        ModelsHandler.checkModel(request.model(), modelName);
        List<ChatPlanner.Message> messages = messages(request);
        GenerationFields generation = request.generation();
        CompletionResponder.answer(exchange, json, modelName, generation,
                listener -> chat.start(messages, generation.maxDynamicPatch(), generation.options(), listener));
    }

    private List<ChatPlanner.Message> messages(ChatCompletionRequest request) {
        List<ChatPlanner.Message> out = new ArrayList<>();
        for (int m = 0; m < request.messages().size(); m++) {
            ChatCompletionRequest.Message message = request.messages().get(m);
            out.add(new ChatPlanner.Message(switch (message.role()) {
                case SYSTEM -> ChatPlanner.Role.SYSTEM;
                case USER -> ChatPlanner.Role.USER;
                case ASSISTANT -> ChatPlanner.Role.ASSISTANT;
            }, Content.load(message.content(), "messages[" + m + "].content", images)));
        }
        return out;
    }
}
