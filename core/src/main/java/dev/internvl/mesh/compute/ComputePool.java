package dev.internvl.mesh.compute;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The threads every kernel splits its work over: {@code threads - 1} long-lived workers plus the calling thread.
 * A job is a number of independent tasks claimed dynamically from a shared counter, so uneven tasks balance out.
 *
 * <p>One job runs at a time; a second caller waits for the first job to finish. A kernel called from inside a task
 * (attention calling a matrix product, say) runs its tasks inline on that thread, so kernels compose freely.
 * Threads are created once, in the constructor, never per call.
 */
public final class ComputePool implements AutoCloseable {
    /** System property that sets the size of {@link #shared()}; defaults to the available processors. */
    public static final String THREADS_PROPERTY = "mesh.compute.threads";
    /** Spins before parking: a job's tasks typically take microseconds to milliseconds. */
    private static final int SPINS_BEFORE_PARK = 20_000;

    private static volatile ComputePool shared;

    private final int threads;
    private final Thread[] workers;
    private final ReentrantLock submitLock = new ReentrantLock();
    private final ThreadLocal<Boolean> insideTask = ThreadLocal.withInitial(() -> false);
    private volatile Job current;
    private volatile boolean closed;

    /** A job's state; each job has its own counters so a worker that wakes late cannot touch the next job. */
    private static final class Job {
        final IntConsumer task;
        final int tasks;
        final AtomicInteger nextTask = new AtomicInteger();
        final AtomicInteger unfinished;
        final Thread caller;
        volatile Throwable failure;

        Job(IntConsumer task, int tasks, Thread caller) {
            this.task = task;
            this.tasks = tasks;
            this.unfinished = new AtomicInteger(tasks);
            this.caller = caller;
        }
    }

    public ComputePool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("a compute pool needs at least one thread, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workerLoop, "mesh-compute-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** The process-wide pool, sized by {@value #THREADS_PROPERTY} or the number of available processors. */
    public static ComputePool shared() {
        ComputePool p = shared;
        if (p == null) {
            synchronized (ComputePool.class) {
                p = shared;
                if (p == null) {
                    int n = Integer.getInteger(THREADS_PROPERTY, Runtime.getRuntime().availableProcessors());
                    p = new ComputePool(Math.max(1, n));
                    shared = p;
                }
            }
        }
        return p;
    }

    public int threads() {
        return threads;
    }

    /** How many threads a job submitted now would run on: 1 from inside a task, where jobs run inline. */
    public int availableParallelism() {
        return insideTask.get() || submitLock.isHeldByCurrentThread() ? 1 : threads;
    }

    /**
     * Runs {@code task.accept(i)} for every {@code i} in {@code [0, tasks)}, spread over the pool, and returns when
     * all have finished. The first exception a task throws is rethrown here after the others complete.
     */
    public void parallelFor(int tasks, IntConsumer task) {
        if (tasks <= 0) {
            return;
        }
        if (tasks == 1 || workers.length == 0 || insideTask.get() || submitLock.isHeldByCurrentThread()) {
            runInline(tasks, task);
            return;
        }
        if (closed) {
            throw new IllegalStateException("compute pool is closed");
        }
        submitLock.lock();
        try {
            Job job = new Job(task, tasks, Thread.currentThread());
            current = job;
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            work(job);
            awaitCompletion(job);
            current = null;
            Throwable failure = job.failure;
            if (failure instanceof RuntimeException r) {
                throw r;
            }
            if (failure instanceof Error e) {
                throw e;
            }
            if (failure != null) {
                throw new IllegalStateException(failure);
            }
        } finally {
            submitLock.unlock();
        }
    }

    private void runInline(int tasks, IntConsumer task) {
        boolean outer = !insideTask.get();
        if (outer) {
            insideTask.set(true);
        }
        try {
            for (int i = 0; i < tasks; i++) {
                task.accept(i);
            }
        } finally {
            if (outer) {
                insideTask.set(false);
            }
        }
    }

    /** Claims and runs tasks of {@code job} until none are left. */
    private void work(Job job) {
        insideTask.set(true);
        try {
            int i;
            while ((i = job.nextTask.getAndIncrement()) < job.tasks) {
                try {
                    if (job.failure == null) {
                        job.task.accept(i);
                    }
                } catch (Throwable t) {
                    if (job.failure == null) {
                        job.failure = t;
                    }
                }
                if (job.unfinished.decrementAndGet() == 0) {
                    LockSupport.unpark(job.caller);
                }
            }
        } finally {
            insideTask.set(false);
        }
    }

    private static void awaitCompletion(Job job) {
        for (int spin = 0; job.unfinished.get() > 0; spin++) {
            if (spin < SPINS_BEFORE_PARK) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(job, 100_000);
            }
        }
    }

    private void workerLoop() {
        Job seen = null;
        int idleSpins = 0;
        while (!closed) {
            Job job = current;
            if (job != null && job != seen) {
                seen = job;
                idleSpins = 0;
                work(job);
            } else if (idleSpins < SPINS_BEFORE_PARK) {
                idleSpins++;
                Thread.onSpinWait();
            } else {
                LockSupport.park(this);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
