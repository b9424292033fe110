package dev.internvl.mesh.model;

import dev.internvl.mesh.checkpoint.WeightStore;
import dev.internvl.mesh.compute.WeightMatrix;

/**
 * Reads a model's tensors by hub name: matrices stay in the mapped file (widened on the fly by the kernels);
 * small vectors (norm weights, biases, layer scales) are widened once to heap arrays.
 */
public record WeightReader(WeightStore store) {
    public WeightMatrix matrix(String name) {
        return WeightMatrix.of(store.tensor(name));
    }

    public float[] vector(String name) {
        return store.tensor(name).toFloatArray();
    }

    /** The vector, or null when the checkpoint has no such tensor (an optional bias). */
    public float[] optionalVector(String name) {
        return store.contains(name) ? vector(name) : null;
    }
}
