package dev.internvl.mesh.engine;

/**
 * How the engine schedules work.
 *
 * @param maxRunning       sequences decoding together at most (the batch of one decode step)
 * @param prefillChunk     prompt positions per prefill pass of one request; chunks start at multiples of it, so
 *                         a request's arithmetic never depends on what else runs
 * @param maxStepTokens    prompt positions all prefill passes of one scheduler step may take together, so a long
 *                         image prompt never stalls running decodes for more than one chunk
 * @param maxWaiting       requests queued for admission at most; more are refused
 */
public record EngineSettings(int maxRunning, int prefillChunk, int maxStepTokens, int maxWaiting) {
    public EngineSettings {
        if (maxRunning < 1 || prefillChunk < 1 || maxStepTokens < prefillChunk || maxWaiting < 0) {
            throw new IllegalArgumentException("engine settings need maxRunning >= 1, prefillChunk >= 1, "
                    + "maxStepTokens >= prefillChunk and maxWaiting >= 0: " + this);
        }
    }

    public static EngineSettings defaults() {
        return new EngineSettings(32, 256, 512, 256);
    }
}
