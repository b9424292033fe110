package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.internvl.mesh.gateway.chat.ChatPlanner;
import dev.internvl.mesh.gateway.chat.ChatService;
import dev.internvl.mesh.gateway.chat.GenerationOptions;
import dev.internvl.mesh.gateway.http.HttpExchange;
import dev.internvl.mesh.gateway.http.HttpServer;
import dev.internvl.mesh.gateway.images.ImageLoader;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executor;

/**
 * {@code POST /v1/chat/completions}: parse and check the body on the event loop, then load its images and wait
 * for admission on a worker (both may block), and stream the answer back as the OpenAI API does.
 */
public final class ChatCompletionsHandler implements HttpServer.Handler {
    private final ChatCompletionParser parser;
    private final ObjectMapper json;
    private final ChatService chat;
    private final ImageLoader images;
    private final String modelName;
    private final Executor workers;

    public ChatCompletionsHandler(ObjectMapper json, ChatService chat, ImageLoader images, String modelName, Executor workers) {
        this.parser = new ChatCompletionParser(json);
        this.json = json;
        this.chat = chat;
        this.images = images;
        this.modelName = modelName;
        this.workers = workers;
    }

    @Override
    public void handle(HttpExchange exchange) {
        ChatCompletionRequest request = parser.parse(exchange.body());
        ModelsHandler.checkModel(request.model(), modelName);
        workers.execute(() -> {
            try {
                List<ChatPlanner.Message> messages = messages(request);
                if (exchange.clientGone()) {
                    return;
                }
                CompletionResponder responder = new CompletionResponder(exchange, json,
                        "chatcmpl-" + UUID.randomUUID().toString().replace("-", ""), modelName,
                        System.currentTimeMillis() / 1000, request.stream(), request.includeUsage(), request.logprobs());
                ChatService.Handle handle = chat.start(messages, request.maxDynamicPatch(), options(request), responder);
                exchange.onClientGone(handle::cancel);
            } catch (ApiError e) {
                exchange.sendError(e);
            }
        });
    }

    static GenerationOptions options(ChatCompletionRequest r) {
        return new GenerationOptions(r.maxTokens(), r.temperature(), r.topP(), r.topK(), r.repetitionPenalty(),
                r.stop(), r.seed(), r.logprobs(), r.topLogprobs());
    }

    private List<ChatPlanner.Message> messages(ChatCompletionRequest request) {
        List<ChatPlanner.Message> out = new ArrayList<>();
        for (int m = 0; m < request.messages().size(); m++) {
            ChatCompletionRequest.Message message = request.messages().get(m);
            List<ChatPlanner.Part> parts = new ArrayList<>();
            for (int p = 0; p < message.content().size(); p++) {
                switch (message.content().get(p)) {
                    case ChatCompletionRequest.Text t -> parts.add(new ChatPlanner.Text(t.text()));
                    case ChatCompletionRequest.Image img -> {
                        String param = "messages[" + m + "].content[" + p + "].image_url.url";
                        parts.add(new ChatPlanner.Image(images.load(img.url(), param), img.maxDynamicPatch(), param));
                    }
                }
            }
            out.add(new ChatPlanner.Message(switch (message.role()) {
                case SYSTEM -> ChatPlanner.Role.SYSTEM;
                case USER -> ChatPlanner.Role.USER;
                case ASSISTANT -> ChatPlanner.Role.ASSISTANT;
            }, parts));
        }
        return out;
    }
}
