package dev.internvl.mesh.engine;

import java.util.concurrent.atomic.LongAdder;

/** Counters and gauges of a {@link GenerationEngine}, read by the serving tier's metrics. */
public final class EngineStats {
    final LongAdder finished = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder cancelled = new LongAdder();
    final LongAdder preemptions = new LongAdder();
    final LongAdder stepTokens = new LongAdder();
    volatile int running;
    volatile int waiting;
    volatile int kvBlocksUsed;

    public long finished() {
        return finished.sum();
    }

    public long failed() {
        return failed.sum();
    }

    public long cancelled() {
        return cancelled.sum();
    }

    public long preemptions() {
        return preemptions.sum();
    }

    /** Positions run through the model so far (prompt and generated). */
    public long tokensProcessed() {
        return stepTokens.sum();
    }

    public int running() {
        return running;
    }

    public int waiting() {
        return waiting;
    }

    public int kvBlocksUsed() {
        return kvBlocksUsed;
    }
}
