package dev.internvl.mesh.serving;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.util.Optional;

/**
 * Which tier behind a call failed, as a trailer: the language tier marks errors that come from the vision tier so
 * that the gateway can tell "images cannot be read now" from "nothing works now".
 */
public final class FailedTier {
    public static final String VISION = "vision";
    /** A layer shard of the language tier. */
    public static final String LLM_SHARD = "llm-shard";
    private static final Metadata.Key<String> KEY = Metadata.Key.of("x-mesh-failed-tier", Metadata.ASCII_STRING_MARSHALLER);

    private FailedTier() {
    }

    public static StatusRuntimeException mark(Status status, String tier) {
        Metadata trailers = new Metadata();
        trailers.put(KEY, tier);
        return status.asRuntimeException(trailers);
    }

    public static Optional<String> of(Throwable error) {
        Metadata trailers = Status.trailersFromThrowable(error);
        return trailers == null ? Optional.empty() : Optional.ofNullable(trailers.get(KEY));
    }
}
