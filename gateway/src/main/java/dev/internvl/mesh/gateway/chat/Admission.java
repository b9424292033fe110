package dev.internvl.mesh.gateway.chat;

import dev.internvl.mesh.gateway.openai.ApiError;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadFullException;

import java.time.Duration;

/**
 * A concurrency limit with a bounded queue, from two Resilience4j bulkheads: the outer one counts running plus
 * queued requests and never waits (a full queue is refused at once with 429), the inner one lets
 * {@code maxRunning} through and makes the rest wait up to {@code queueTimeout}.
 */
public final class Admission {
    private final Bulkhead queue;
    private final Bulkhead running;
    private final int retryAfterSeconds;

    public Admission(int maxRunning, int maxQueued, Duration queueTimeout) {
        this.queue = Bulkhead.of("gateway-queue", BulkheadConfig.custom()
                .maxConcurrentCalls(maxRunning + maxQueued).maxWaitDuration(Duration.ZERO).build());
        this.running = Bulkhead.of("gateway-running", BulkheadConfig.custom()
                .maxConcurrentCalls(maxRunning).maxWaitDuration(queueTimeout).fairCallHandlingStrategyEnabled(true).build());
        this.retryAfterSeconds = (int) Math.max(1, Math.min(60, queueTimeout.toSeconds() / 4));
    }

    /** A place among the running requests; release it exactly once when the request ends. */
    public interface Permit {
        void release();
    }

    /**
     * Waits (blocking) for a place among the running requests.
     *
     * @throws ApiError 429 when the queue is full or the wait timed out
     */
    public Permit acquire() {
        if (!queue.tryAcquirePermission()) {
            throw overloaded("The server is at capacity and its queue is full. Please retry after a short wait.");
        }
        try {
            running.acquirePermission();
        } catch (BulkheadFullException e) {
            queue.onComplete();
            throw overloaded("The server is at capacity: the request waited in the queue too long. Please retry after a short wait.");
        }
        boolean[] released = new boolean[1];
        return () -> {
            synchronized (released) {
                if (!released[0]) {
                    released[0] = true;
                    running.onComplete();
                    queue.onComplete();
                }
            }
        };
    }

    /** Requests waiting for a place. */
    public int queued() {
        int queuedAndRunning = queue.getBulkheadConfig().getMaxConcurrentCalls() - queue.getMetrics().getAvailableConcurrentCalls();
        int runningNow = running.getBulkheadConfig().getMaxConcurrentCalls() - running.getMetrics().getAvailableConcurrentCalls();
        return Math.max(0, queuedAndRunning - runningNow);
    }

    public int running() {
        return running.getBulkheadConfig().getMaxConcurrentCalls() - running.getMetrics().getAvailableConcurrentCalls();
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    private ApiError overloaded(String message) {
        return new ApiError(429, "rate_limit_exceeded", message, null, "server_overloaded").retryAfter(retryAfterSeconds);
    }
}
