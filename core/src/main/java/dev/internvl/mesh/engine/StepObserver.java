package dev.internvl.mesh.engine;

/** Hears each scheduler step of a {@link GenerationEngine}, for metrics. Called on the scheduler thread. */
@FunctionalInterface
public interface StepObserver {
    StepObserver NONE = (decodeSequences, prefillTokens, nanos) -> {
    };

    /**
     * @param decodeSequences requests that decoded a token together in this step (the decode batch)
     * @param prefillTokens   prompt positions computed in this step's prefill chunks
     * @param nanos           the step's duration
     */
    void onStep(int decodeSequences, int prefillTokens, long nanos);
}
