package dev.internvl.mesh.tools.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.internvl.mesh.checkpoint.Checkpoint;
import dev.internvl.mesh.checkpoint.DType;
import dev.internvl.mesh.checkpoint.ModelConfig;
import dev.internvl.mesh.checkpoint.SafetensorsWriter;
import dev.internvl.mesh.checkpoint.TensorView;
import dev.internvl.mesh.checkpoint.WeightSchema;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Writes a model directory in the original hub layout (config.json, generation_config.json, safetensors with
 * InternVL names, the real tokenizer files) filled with random BF16 weights. The weights follow the scheme of the
 * shared golden set (linear N(0, 1/fan_in), norms near 1, ...) so activations stay O(1) and the model produces
 * varied tokens. Tensors stream to disk, so a 1B-shaped checkpoint needs no more heap than a tiny one.
 */
public final class DemoCheckpoint {
    private static final long DEFAULT_MAX_SHARD_BYTES = 5L << 30;
    private static final int CHUNK = 1 << 16;

    private final long seed;
    private final long maxShardBytes;

    public DemoCheckpoint(long seed, long maxShardBytes) {
        this.seed = seed;
        this.maxShardBytes = maxShardBytes <= 0 ? DEFAULT_MAX_SHARD_BYTES : maxShardBytes;
    }

    /** The hub config.json for a shape, with the keys and values InternVL 2.5 checkpoints carry. */
    public static ObjectNode hubConfig(ModelShape s) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.putArray("architectures").add("InternVLChatModel");
        root.put("model_type", "internvl_chat");
        root.put("torch_dtype", "bfloat16");
        root.put("downsample_ratio", 0.5);
        root.put("dynamic_image_size", true);
        root.put("force_image_size", 448);
        root.put("max_dynamic_patch", 12);
        root.put("min_dynamic_patch", 1);
        root.put("pad2square", false);
        root.put("ps_version", "v2");
        root.put("select_layer", -1);
        root.put("template", "internvl2_5");
        root.put("use_thumbnail", true);
        root.put("use_backbone_lora", 0);
        root.put("use_llm_lora", 0);
        ObjectNode v = root.putObject("vision_config");
        v.putArray("architectures").add("InternVisionModel");
        v.put("model_type", "intern_vit_6b");
        v.put("hidden_act", "gelu");
        v.put("hidden_size", s.visionHidden());
        v.put("num_attention_heads", s.visionHeads());
        v.put("num_hidden_layers", s.visionLayers());
        v.put("intermediate_size", s.visionIntermediate());
        v.put("image_size", 448);
        v.put("patch_size", 14);
        v.put("num_channels", 3);
        v.put("norm_type", s.visionLayerNorm() ? "layer_norm" : "rms_norm");
        v.put("qkv_bias", s.qkvBias());
        v.put("qk_normalization", s.qkNormalization());
        v.put("layer_norm_eps", 1e-6);
        v.put("drop_path_rate", 0.0);
        v.put("torch_dtype", "bfloat16");
        ObjectNode l = root.putObject("llm_config");
        l.putArray("architectures").add("Qwen2ForCausalLM");
        l.put("model_type", "qwen2");
        l.put("hidden_act", "silu");
        l.put("hidden_size", s.llmHidden());
        l.put("num_attention_heads", s.llmHeads());
        l.put("num_key_value_heads", s.llmKvHeads());
        l.put("num_hidden_layers", s.llmLayers());
        l.put("intermediate_size", s.llmIntermediate());
        l.put("vocab_size", s.vocabSize());
        l.put("max_position_embeddings", 32768);
        l.put("rms_norm_eps", s.rmsNormEps());
        l.put("rope_theta", s.ropeTheta());
        l.putNull("rope_scaling");
        l.put("tie_word_embeddings", s.tieWordEmbeddings());
        l.put("use_sliding_window", false);
        l.put("bos_token_id", 151643);
        l.put("eos_token_id", 151645);
        l.put("torch_dtype", "bfloat16");
        return root;
    }

    /** Generates the directory and returns the opened, validated checkpoint's config. */
    public ModelConfig generate(ObjectNode config, Path tokenizerDir, Path out) throws IOException {
        Files.createDirectories(out);
        Path configFile = out.resolve("config.json");
        Files.writeString(configFile, config.toPrettyString());
        ModelConfig parsed = ModelConfig.read(configFile);
        ObjectNode generation = new ObjectMapper().createObjectNode();
        generation.putArray("eos_token_id").add(151645);
        Files.writeString(out.resolve("generation_config.json"), generation.toPrettyString());
        copyTokenizer(tokenizerDir, out);
        writeWeights(parsed, out);
        try (Checkpoint check = Checkpoint.open(out)) {
            return check.config();
        }
    }

    private static void copyTokenizer(Path from, Path to) throws IOException {
        if (!Files.isRegularFile(from.resolve("vocab.json"))) {
            throw new IOException(from + ": not a tokenizer directory (no vocab.json)");
        }
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, to.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private void writeWeights(ModelConfig config, Path out) throws IOException {
        List<List<Map.Entry<String, long[]>>> shards = new ArrayList<>();
        List<Map.Entry<String, long[]>> current = new ArrayList<>();
        long currentBytes = 0;
        for (var e : WeightSchema.expected(config).entrySet().stream().sorted(Map.Entry.comparingByKey()).toList()) {
            long bytes = TensorView.elementCount(e.getValue()) * 2;
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(e);
            currentBytes += bytes;
        }
        shards.add(current);
        if (shards.size() == 1) {
            writeShard(config, shards.getFirst(), out.resolve("model.safetensors"));
            return;
        }
        ObjectNode index = new ObjectMapper().createObjectNode();
        ObjectNode weightMap = index.putObject("weight_map");
        for (int i = 0; i < shards.size(); i++) {
            String file = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            writeShard(config, shards.get(i), out.resolve(file));
            shards.get(i).forEach(e -> weightMap.put(e.getKey(), file));
        }
        Files.writeString(out.resolve("model.safetensors.index.json"), index.toPrettyString());
    }

    private void writeShard(ModelConfig config, List<Map.Entry<String, long[]>> tensors, Path file) throws IOException {
        SafetensorsWriter writer = new SafetensorsWriter(Map.of("format", "pt"));
        for (var e : tensors) {
            String name = e.getKey();
            long[] shape = e.getValue();
            Init init = initFor(name, shape, config);
            SplittableRandom rng = new SplittableRandom(seed ^ ((long) name.hashCode() << 20) ^ name.length());
            writer.add(name, DType.BF16, shape, o -> writeRandom(o, TensorView.elementCount(shape), init, rng));
        }
        writer.write(file);
    }

    /** How one tensor is drawn: {@code mean + scale * N(0,1)}, or uniform in [low, high) when uniform. */
    private record Init(double mean, double scale, boolean uniform) {
        static Init normal(double mean, double std) {
            return new Init(mean, std, false);
        }

        static Init uniform(double low, double high) {
            return new Init(low, high - low, true);
        }
    }

    private static Init initFor(String name, long[] shape, ModelConfig config) {
        if (name.endsWith(".ls1") || name.endsWith(".ls2")) {
            return Init.uniform(0.2, 0.9);
        }
        if (name.contains("class_embedding") || name.contains("position_embedding")) {
            return Init.normal(0, 0.5);
        }
        if (name.equals(WeightSchema.EMBED_TOKENS)) {
            return Init.normal(0, 0.3);
        }
        if (name.equals(WeightSchema.LM_HEAD)) {
            return Init.normal(0, 2.5 / Math.sqrt(config.llm().hiddenSize()));
        }
        boolean norm = name.contains("norm") || name.startsWith("mlp1.0.");
        if (norm) {
            return name.endsWith(".bias") ? Init.normal(0, 0.1) : Init.normal(1, 0.2);
        }
        if (name.endsWith(".bias")) {
            boolean qkv = name.contains("qkv") || name.contains("q_proj") || name.contains("k_proj") || name.contains("v_proj");
            return Init.normal(0, qkv ? 0.3 : 0.1);
        }
        long fanIn = 1;
        for (int i = 1; i < shape.length; i++) {
            fanIn *= shape[i];
        }
        double gain = name.contains("qkv") || name.contains("q_proj") || name.contains("k_proj") ? 1.5
                : name.contains("o_proj") || name.contains("down_proj") ? 3.0 : 1.0;
        return Init.normal(0, gain / Math.sqrt(fanIn));
    }

    private static void writeRandom(OutputStream out, long count, Init init, SplittableRandom rng) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(CHUNK, count - done);
            buf.clear();
            for (int i = 0; i < n; i++) {
                double r = init.uniform() ? rng.nextDouble() : rng.nextGaussian();
                buf.putShort(SafetensorsWriter.toBf16((float) (init.mean() + init.scale() * r)));
            }
            out.write(buf.array(), 0, n * 2);
            done += n;
        }
    }
}
