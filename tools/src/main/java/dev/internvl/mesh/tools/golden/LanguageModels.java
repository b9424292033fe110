package dev.internvl.mesh.tools.golden;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.model.llm.Qwen2Model;

/** Where the model suites get a checkpoint's language model: in this process, or across layer-shard processes. */
public interface LanguageModels extends AutoCloseable {
    LanguageModels IN_PROCESS = checkpoint -> Qwen2Model.load(checkpoint, ComputePool.shared(), Precision.EXACT);

    /** The exact-path model of {@code checkpoint}, valid while the checkpoint is open. */
    Qwen2Model open(Checkpoint checkpoint);

    @Override
    default void close() {
    }
}
