package dev.internvl.mesh.engine;

/** The engine's queue is full: the caller should retry later (gRPC RESOURCE_EXHAUSTED, HTTP 429). */
public final class EngineOverloadedException extends RuntimeException {
    public EngineOverloadedException(String message) {
        super(message);
    }
}
