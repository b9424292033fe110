package dev.internvl.mesh.tools.golden;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.compute.ComputePool;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.llm.shard.LocalShards;
import dev.internvl.mesh.llm.shard.ShardedLayers;
import dev.internvl.mesh.model.llm.Qwen2Model;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.serving.MeshTls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Language models whose decoder layers run in {@code shards} layer-shard processes on loopback, started per
 * checkpoint and kept while consecutive cases use the same one. Hidden states travel as F32, so the sharded model
 * computes what the single-process one does, bit for bit.
 */
public final class ShardedLanguageModels implements LanguageModels {
    private final int shards;
    private final Path logDir;
    private Path current;
    private LocalShards processes;
    private ShardedLayers layers;

    public ShardedLanguageModels(int shards) {
        this.shards = shards;
        try {
            this.logDir = Files.createTempDirectory("golden-shards");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public Qwen2Model open(Checkpoint checkpoint) {
        if (!checkpoint.dir().equals(current)) {
            close();
            processes = LocalShards.start(checkpoint.dir(), shards, Map.of("MESH_PRECISION", "exact", "LLM_KV_CACHE_BYTES", "64m"), logDir);
            layers = ShardedLayers.connect(processes.addresses(), MeshTls.plaintext().channelCredentials(), checkpoint.config().llm(),
                    Precision.EXACT, DType.DTYPE_F32, shards, Duration.ofSeconds(60), Duration.ofMinutes(2), Duration.ofSeconds(1));
            current = checkpoint.dir();
        }
        return Qwen2Model.withLayers(checkpoint, ComputePool.shared(), Precision.EXACT, layers);
    }

    @Override
    public void close() {
        if (layers != null) {
            layers.close();
            layers = null;
        }
        if (processes != null) {
            processes.close();
            processes = null;
        }
        current = null;
    }
}
