package dev.internvl.mesh.gateway.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * An error as the OpenAI API reports it: an HTTP status and {@code {"error": {"message", "type", "param",
 * "code"}}}. Thrown anywhere in request handling; the HTTP layer turns it into the response.
 */
public final class ApiError extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private int retryAfterSeconds;

    public ApiError(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    public static ApiError invalidRequest(String message, String param) {
        return new ApiError(400, "invalid_request_error", message, param, null);
    }

    public static ApiError invalidRequest(String message, String param, String code) {
        return new ApiError(400, "invalid_request_error", message, param, code);
    }

    /** Sets the seconds a client should wait before retrying (sent as {@code Retry-After}). */
    public ApiError retryAfter(int seconds) {
        this.retryAfterSeconds = seconds;
        return this;
    }

    /** 0 when the client need not wait. */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    public ObjectNode toJson(ObjectMapper json) {
        ObjectNode root = json.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", getMessage());
        error.put("type", type);
        if (param == null) {
            error.putNull("param");
        } else {
            error.put("param", param);
        }
        if (code == null) {
            error.putNull("code");
        } else {
            error.put("code", code);
        }
        return root;
    }
}
