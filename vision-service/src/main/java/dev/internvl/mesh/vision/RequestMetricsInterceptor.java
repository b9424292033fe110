package dev.internvl.mesh.vision;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Counts every call once in {@code vision_requests_total} with the code it ended with: the status the service closed
 * it with, or CANCELLED / DEADLINE_EXCEEDED when the caller or its deadline ended it first.
 */
final class RequestMetricsInterceptor implements ServerInterceptor {
    private final VisionMetrics metrics;

    RequestMetricsInterceptor(VisionMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        AtomicBoolean counted = new AtomicBoolean();
        ServerCall<Q, R> counting = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                if (counted.compareAndSet(false, true)) {
                    metrics.request(method, status.getCode().name());
                }
                super.close(status, trailers);
            }
        };
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(counting, headers)) {
            @Override
            public void onCancel() {
                // counted once the service has heard of it, so the metric never runs ahead of the work stopping
                super.onCancel();
                if (counted.compareAndSet(false, true)) {
                    Deadline deadline = Context.current().getDeadline();
                    boolean expired = deadline != null && deadline.isExpired();
                    metrics.request(method, (expired ? Status.Code.DEADLINE_EXCEEDED : Status.Code.CANCELLED).name());
                }
            }
        };
    }
}
