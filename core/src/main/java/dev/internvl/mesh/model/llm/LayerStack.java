package dev.internvl.mesh.model.llm;

import java.util.List;

/**
 * The decoder layers that a forward step runs through: all of them in this process ({@link DecoderLayers}), or
 * split over layer-shard processes. Passes are independent sets of sequences; a stack may run them concurrently.
 */
public interface LayerStack {
    /** One pass: its layout, its input rows {@code [rows, hidden]} (a working buffer) and the rows wanted back. */
    record Pass(StepLayout layout, float[] input, int[] outputRows) {
    }

    /**
     * Runs every pass through every layer, writing their keys and values under their block tables, and returns
     * per pass the last layer's output for its {@code outputRows} ({@code [outputRows.length, hidden]}).
     *
     * @param pool     the block accounting the tables come from
     * @param observer sees the residual stream of layers that run in this process
     */
    List<float[]> forward(List<Pass> passes, KvBlockPool pool, ForwardObserver observer);

    /** A KV cache these layers can run on: with storage here, or block accounting for storage held elsewhere. */
    KvBlockPool newKvCache(int blockSize, int blockCount);
}
