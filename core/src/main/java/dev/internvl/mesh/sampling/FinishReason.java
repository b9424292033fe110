package dev.internvl.mesh.sampling;

/** Why generation ended, with the value the OpenAI API reports. */
public enum FinishReason {
    /** A stop token (the model's end of turn included) or a stop string. */
    STOP("stop"),
    /** {@link SamplingParams#maxNewTokens()} tokens were generated. */
    LENGTH("length");

    private final String apiValue;

    FinishReason(String apiValue) {
        this.apiValue = apiValue;
    }

    public String apiValue() {
        return apiValue;
    }
}
