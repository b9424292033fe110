package dev.internvl.mesh.tools.demo;

import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.TensorView;
import dev.internvl.mesh.checkpoint.WeightSchema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DemoCheckpointTest {
    static final Path TOKENIZER = Path.of("../testdata/golden/tokenizer/internvl2_5-qwen2");

    @TempDir
    Path tmp;

    @Test
    void writesAHubDirectoryThatOpensAndValidates() throws Exception {
        Path out = tmp.resolve("tiny");
        new DemoCheckpoint(7, 0).generate(DemoCheckpoint.hubConfig(ModelShape.named("tiny")), TOKENIZER, out);
        for (String f : new String[]{"config.json", "generation_config.json", "model.safetensors", "vocab.json",
                "merges.txt", "added_tokens.json", "tokenizer_config.json", "special_tokens_map.json"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        try (Checkpoint c = Checkpoint.open(out)) {
            assertEquals(64, c.config().llm().hiddenSize());
            float[] ls1 = c.weights().tensor(WeightSchema.visionLayer(0, "ls1")).toFloatArray();
            for (float v : ls1) {
                assertTrue(v >= 0.199f && v <= 0.901f, "layer scale drawn from U(0.2, 0.9): " + v);
            }
            float[] norm = c.weights().tensor(WeightSchema.llmLayer(1, "input_layernorm.weight")).toFloatArray();
            double mean = 0;
            for (float v : norm) {
                mean += v / norm.length;
            }
            assertEquals(1.0, mean, 0.1, "norm weights are drawn around 1");
        }
    }

    @Test
    void shardsLargeCheckpointsWithAnIndexAndTheSameSeedGivesTheSameWeights() throws Exception {
        Path single = tmp.resolve("single");
        Path sharded = tmp.resolve("sharded");
        var config = DemoCheckpoint.hubConfig(ModelShape.named("tiny"));
        new DemoCheckpoint(3, 0).generate(config, TOKENIZER, single);
        new DemoCheckpoint(3, 4 << 20).generate(config, TOKENIZER, sharded);
        assertTrue(Files.isRegularFile(sharded.resolve("model.safetensors.index.json")));
        try (Checkpoint a = Checkpoint.open(single); Checkpoint b = Checkpoint.open(sharded)) {
            assertTrue(b.weights().files().size() > 1, "several shards");
            for (var e : a.weights().tensors().entrySet()) {
                TensorView other = b.weights().tensor(e.getKey());
                assertArrayEquals(e.getValue().toByteArray(), other.toByteArray(), e.getKey());
            }
        }
    }
}
