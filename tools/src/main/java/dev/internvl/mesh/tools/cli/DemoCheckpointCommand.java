package dev.internvl.mesh.tools.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.internvl.mesh.checkpoint.ModelConfig;
import dev.internvl.mesh.tools.demo.DemoCheckpoint;
import dev.internvl.mesh.tools.demo.ModelShape;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "demo-checkpoint", mixinStandardHelpOptions = true,
        description = "Writes a model directory in the hub layout with random BF16 weights and the real tokenizer.")
final class DemoCheckpointCommand implements Callable<Integer> {
    @Option(names = "--shape", description = "tiny, small or internvl2_5-1b (default: ${DEFAULT-VALUE})", defaultValue = "tiny")
    String shape;

    @Option(names = "--config", description = "a hub config.json to take the shape from instead of --shape")
    Path config;

    @Option(names = "--out", required = true, description = "the directory to write")
    Path out;

    @Option(names = "--tokenizer", description = "directory of the tokenizer files to ship (default: the repo's copy)")
    Path tokenizer;

    @Option(names = "--seed", defaultValue = "42")
    long seed;

    @Option(names = "--max-shard-bytes", defaultValue = "0", description = "split the weights into shards of at most this size (default 5 GiB)")
    long maxShardBytes;

    @Override
    public Integer call() throws Exception {
        ObjectNode hubConfig = config != null
                ? (ObjectNode) new ObjectMapper().readTree(config.toFile())
                : DemoCheckpoint.hubConfig(ModelShape.named(shape));
        Path tokenizerDir = tokenizer != null ? tokenizer : MeshHome.defaultTokenizerDir();
        long start = System.nanoTime();
        ModelConfig written = new DemoCheckpoint(seed, maxShardBytes).generate(hubConfig, tokenizerDir, out);
        System.err.printf("wrote %s (vision %d x %d layers, llm %d x %d layers) in %.1f s%n", out,
                written.vision().hiddenSize(), written.vision().numLayers(),
                written.llm().hiddenSize(), written.llm().numLayers(), (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
