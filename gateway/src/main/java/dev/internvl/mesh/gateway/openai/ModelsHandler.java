package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.internvl.mesh.gateway.http.HttpExchange;
import dev.internvl.mesh.gateway.http.HttpServer;

/** {@code GET /v1/models}: the one model this mesh serves, in the OpenAI list format. */
public final class ModelsHandler implements HttpServer.Handler {
    private final ObjectMapper json;
    private final String modelName;
    private final long created = System.currentTimeMillis() / 1000;

    public ModelsHandler(ObjectMapper json, String modelName) {
        this.json = json;
        this.modelName = modelName;
    }

    @Override
    public void handle(HttpExchange exchange) {
        ObjectNode body = json.createObjectNode().put("object", "list");
        body.putArray("data").addObject()
                .put("id", modelName).put("object", "model").put("created", created).put("owned_by", "internvl-mesh");
        exchange.sendJson(200, body);
    }

    /** 404 in OpenAI's words for a model this server does not serve. */
    static void checkModel(String requested, String served) {
        if (!requested.equals(served)) {
            throw new ApiError(404, "invalid_request_error", "The model `" + requested + "` does not exist or you do not have access to it.",
                    "model", "model_not_found");
        }
    }
}
