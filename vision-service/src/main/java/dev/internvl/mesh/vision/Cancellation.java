package dev.internvl.mesh.vision;

import java.util.ArrayList;
import java.util.List;

/**
 * A request's cancellation, as the caller signals it (a cancelled call, a passed deadline) and as the stages working
 * on the request hear it: each stage registers what stops its part of the work.
 */
public final class Cancellation {
    private final List<Runnable> actions = new ArrayList<>();
    private boolean cancelled;

    /** Cancels once, running every registered action on this thread; later calls do nothing. */
    public void cancel() {
        List<Runnable> toRun;
        synchronized (this) {
            if (cancelled) {
                return;
            }
            cancelled = true;
            toRun = List.copyOf(actions);
            actions.clear();
        }
        toRun.forEach(Runnable::run);
    }

    public synchronized boolean isCancelled() {
        return cancelled;
    }

    /** Runs {@code action} when the request is cancelled, or right away when it already is. */
    public void onCancel(Runnable action) {
        synchronized (this) {
            if (!cancelled) {
                actions.add(action);
                return;
            }
        }
        action.run();
    }
}
