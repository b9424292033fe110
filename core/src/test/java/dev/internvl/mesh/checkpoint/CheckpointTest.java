package dev.internvl.mesh.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {
    static final Path GOLDEN_CHECKPOINTS = Path.of("../testdata/golden/checkpoints");
    static final Path TIED = GOLDEN_CHECKPOINTS.resolve("tiny-300m-style");
    static final Path UNTIED = GOLDEN_CHECKPOINTS.resolve("tiny-6b-style");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void opensBothGoldenCheckpointsWithTheirConfig() {
        try (Checkpoint c = Checkpoint.open(TIED)) {
            ModelConfig cfg = c.config();
            assertEquals(64, cfg.vision().hiddenSize());
            assertEquals(VisionConfig.NormType.LAYER_NORM, cfg.vision().normType());
            assertTrue(cfg.vision().qkvBias());
            assertEquals(256, cfg.numImageTokens());
            assertEquals(256, cfg.projectorInputSize());
            assertEquals(1, cfg.visionOutputLayer());
            assertEquals("internvl2_5", cfg.template());
            assertEquals(12, cfg.maxDynamicPatch());
            assertTrue(cfg.useThumbnail());
            assertEquals(2, cfg.llm().numKvHeads());
            assertEquals(1e6, cfg.llm().ropeTheta());
            assertEquals(WeightSchema.EMBED_TOKENS, c.lmHead().name(), "tied lm_head reads embed_tokens");
            assertEquals(64, c.weights().tensors().size());
        }
        try (Checkpoint c = Checkpoint.open(UNTIED)) {
            assertEquals(VisionConfig.NormType.RMS_NORM, c.config().vision().normType());
            assertTrue(c.config().vision().qkNormalization());
            assertEquals(WeightSchema.LM_HEAD, c.lmHead().name());
            assertArrayEquals(new long[]{151674, 24}, c.lmHead().shape());
        }
    }

    @Test
    void readsBf16ValuesExactly() {
        try (SafetensorsFile f = SafetensorsFile.open(TIED.resolve("model.safetensors"))) {
            TensorView ls1 = f.tensor("vision_model.encoder.layers.0.ls1");
            assertEquals(DType.BF16, ls1.dtype());
            short raw = ls1.data().get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            assertEquals(Float.intBitsToFloat((raw & 0xFFFF) << 16), ls1.getFloat(0));
            float v = ls1.getFloat(0);
            assertTrue(v >= 0.2f && v <= 0.9f, "ls1 was drawn from U(0.2, 0.9), got " + v);
        }
    }

    @Test
    void shardedCheckpointOpensLikeTheSingleFile() throws IOException {
        Path dir = copyConfig(TIED);
        try (SafetensorsFile src = SafetensorsFile.open(TIED.resolve("model.safetensors"))) {
            List<String> names = new ArrayList<>(src.tensors().keySet());
            ObjectNode weightMap = JSON.createObjectNode();
            for (int shard = 0; shard < 2; shard++) {
                String file = "model-0000" + (shard + 1) + "-of-00002.safetensors";
                SafetensorsWriter w = new SafetensorsWriter(Map.of("format", "pt"));
                for (int i = shard; i < names.size(); i += 2) {
                    copyTensor(w, src.tensor(names.get(i)));
                    weightMap.put(names.get(i), file);
                }
                w.write(dir.resolve(file));
            }
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", 0);
            index.set("weight_map", weightMap);
            Files.writeString(dir.resolve(WeightStore.INDEX_FILE), index.toString());
        }
        try (Checkpoint single = Checkpoint.open(TIED); Checkpoint sharded = Checkpoint.open(dir)) {
            assertEquals(2, sharded.weights().files().size());
            for (var e : single.weights().tensors().entrySet()) {
                TensorView a = e.getValue();
                TensorView b = sharded.weights().tensor(e.getKey());
                assertArrayEquals(a.shape(), b.shape());
                assertArrayEquals(a.toByteArray(), b.toByteArray(), e.getKey());
            }
        }
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        assertError(dir, "is in shard model-00002-of-00002.safetensors, which is missing");
    }

    @Test
    void writerKeepsEveryByteAcrossItsChunks() throws IOException {
        // Tensors larger than the writer's 4 MB chunks, from sources that write single bytes and odd-sized pieces.
        int bytes = 9 * (1 << 20) + 7;
        SafetensorsWriter w = new SafetensorsWriter(Map.of());
        w.add("a.bytewise", DType.U8, new long[]{bytes}, out -> {
            for (int i = 0; i < bytes; i++) {
                out.write(i * 31 + 7);
            }
        });
        w.add("b.pieces", DType.U8, new long[]{bytes}, out -> {
            byte[] piece = new byte[1_000_003];
            for (int done = 0; done < bytes; ) {
                int n = Math.min(piece.length, bytes - done);
                for (int i = 0; i < n; i++) {
                    piece[i] = (byte) ((done + i) * 17 + 3);
                }
                out.write(piece, 0, n);
                done += n;
            }
        });
        Path file = tmp.resolve("chunks.safetensors");
        w.write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            byte[] a = f.tensor("a.bytewise").toByteArray();
            byte[] b = f.tensor("b.pieces").toByteArray();
            assertEquals(bytes, a.length);
            assertEquals(bytes, b.length);
            for (int i = 0; i < bytes; i++) {
                if (a[i] != (byte) (i * 31 + 7) || b[i] != (byte) (i * 17 + 3)) {
                    throw new AssertionError("byte " + i + " differs");
                }
            }
        }
    }

    @Test
    void opensTensorsPastTwoGibibytesWithoutReadingThem() throws IOException {
        // A sparse 3 GiB file: mapping it costs nothing until pages are touched.
        Path file = tmp.resolve("big.safetensors");
        long elements = 3L << 29; // 3 GiB of BF16
        byte[] header = ("{\"big\":{\"dtype\":\"BF16\",\"shape\":[" + elements + "],\"data_offsets\":[0," + elements * 2 + "]}}")
                .getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            raf.write(header);
            raf.setLength(8 + header.length + elements * 2);
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            TensorView big = f.tensor("big");
            assertEquals(elements, big.elementCount());
            assertEquals(0f, big.getFloat(elements - 1));
        }
    }

    @Test
    void truncatedFileNamesTheTensor() throws IOException {
        Path dir = copyCheckpoint(TIED);
        Path model = dir.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(model.toFile(), "rw")) {
            raf.setLength(raf.length() - 1000);
        }
        CheckpointException e = assertError(dir, "truncated file");
        assertTrue(e.getMessage().contains(model.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("tensor 'vision_model."), e.getMessage());
    }

    @Test
    void corruptHeaderLength() throws IOException {
        Path dir = copyCheckpoint(TIED);
        Path model = dir.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(model.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        }
        assertError(dir, "corrupt header: header length 1099511627776 does not fit");
    }

    @Test
    void corruptHeaderJson() throws IOException {
        Path dir = copyCheckpoint(TIED);
        Path model = dir.resolve("model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(model.toFile(), "rw")) {
            raf.seek(8);
            raf.write("{\"x\" ".getBytes(StandardCharsets.US_ASCII));
        }
        assertError(dir, "corrupt header: invalid JSON");
    }

    @Test
    void tooShortToBeSafetensors() throws IOException {
        Path dir = copyConfig(TIED);
        Files.write(dir.resolve("model.safetensors"), new byte[3]);
        assertError(dir, "not a safetensors file: 3 bytes");
    }

    @Test
    void missingTensor() throws IOException {
        Path dir = rewrite(TIED, name -> !name.equals("mlp1.3.bias"), null);
        assertError(dir, "missing tensor 'mlp1.3.bias'");
    }

    @Test
    void missingUntiedLmHeadExplainsWhy() throws IOException {
        Path dir = rewrite(UNTIED, name -> !name.equals(WeightSchema.LM_HEAD), null);
        assertError(dir, "missing tensor 'language_model.lm_head.weight' (llm_config.tie_word_embeddings is false");
    }

    @Test
    void unexpectedTensor() throws IOException {
        Path dir = rewrite(TIED, name -> true, w -> w.addFloats("vision_model.extra.weight", DType.F32, new long[]{2}, new float[2]));
        assertError(dir, "unexpected tensor 'vision_model.extra.weight'");
    }

    @Test
    void wrongShape() throws IOException {
        Path dir = rewrite(TIED, name -> !name.equals("mlp1.1.bias"),
                w -> w.addFloats("mlp1.1.bias", DType.BF16, new long[]{63}, new float[63]));
        assertError(dir, "tensor 'mlp1.1.bias' has shape [63], but config.json implies [64]");
    }

    @Test
    void unsupportedWeightDtype() throws IOException {
        Path dir = rewrite(TIED, name -> !name.equals("mlp1.1.bias"),
                w -> w.addInts("mlp1.1.bias", new long[]{64}, new int[64]));
        assertError(dir, "tensor 'mlp1.1.bias' has unsupported dtype I32");
    }

    @Test
    void unknownDtypeInHeader() throws IOException {
        Path file = tmp.resolve("f8.safetensors");
        byte[] header = "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Files.write(file, b.array());
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().contains("tensor 'w': unsupported dtype F8_E4M3"), e.getMessage());
    }

    @Test
    void offsetsThatDisagreeWithShape() throws IOException {
        Path file = tmp.resolve("bad.safetensors");
        byte[] header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Files.write(file, b.array());
        CheckpointException e = assertThrows(CheckpointException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().contains("needs 16 bytes but data_offsets span 12"), e.getMessage());
    }

    @Test
    void noWeightsAtAll() throws IOException {
        Path dir = copyConfig(TIED);
        assertError(dir, "no model.safetensors or model.safetensors.index.json");
    }

    @Test
    void missingConfig() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("empty"));
        assertError(dir, "config.json: missing");
    }

    @Test
    void configKeyMissing() throws IOException {
        Path dir = copyCheckpoint(TIED);
        editConfig(dir, root -> ((ObjectNode) root.get("llm_config")).remove("num_hidden_layers"));
        assertError(dir, "config key 'llm_config.num_hidden_layers' missing");
    }

    @Test
    void configInconsistent() throws IOException {
        Path dir = copyCheckpoint(TIED);
        editConfig(dir, root -> ((ObjectNode) root.get("vision_config")).put("num_attention_heads", 5));
        assertError(dir, "config key 'vision_config.hidden_size' (64) is not divisible by num_attention_heads (5)");

        editConfig(dir, root -> {
            ((ObjectNode) root.get("vision_config")).put("num_attention_heads", 4);
            ((ObjectNode) root.get("llm_config")).put("num_key_value_heads", 3);
        });
        assertError(dir, "'llm_config.num_key_value_heads' (3) does not divide num_attention_heads (4)");

        editConfig(dir, root -> {
            ((ObjectNode) root.get("llm_config")).put("num_key_value_heads", 2);
            ((ObjectNode) root).put("force_image_size", 224);
        });
        assertError(dir, "'force_image_size' (224) differs from vision_config.image_size (448)");
    }

    @Test
    void configOfAnUnsupportedArchitecture() throws IOException {
        Path dir = copyCheckpoint(TIED);
        editConfig(dir, root -> ((ObjectNode) root.get("llm_config")).putArray("architectures").add("InternLM2ForCausalLM"));
        assertError(dir, "is InternLM2ForCausalLM: only Qwen2-based InternVL 2.5 models");
    }

    @Test
    void configWithAWrongType() throws IOException {
        Path dir = copyCheckpoint(TIED);
        editConfig(dir, root -> ((ObjectNode) root).put("downsample_ratio", "half"));
        assertError(dir, "config key 'downsample_ratio' must be a number, got \"half\"");
    }

    @Test
    void tiedCheckpointMayCarryAnUnusedLmHead() throws IOException {
        Path dir = rewrite(TIED, name -> true,
                w -> w.addFloats(WeightSchema.LM_HEAD, DType.BF16, new long[]{151674, 64}, new float[151674 * 64]));
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals(WeightSchema.EMBED_TOKENS, c.lmHead().name());
        }
    }

    // --- helpers -------------------------------------------------------------------------------------------

    private CheckpointException assertError(Path dir, String expectedFragment) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(dir).close());
        assertTrue(e.getMessage().contains(expectedFragment), "message was: " + e.getMessage());
        return e;
    }

    private Path copyConfig(Path src) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "ckpt");
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        return dir;
    }

    private Path copyCheckpoint(Path src) throws IOException {
        Path dir = copyConfig(src);
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        return dir;
    }

    private interface WriterEdit {
        void apply(SafetensorsWriter w);
    }

    /** Copies a checkpoint keeping the tensors {@code keep} accepts, then lets {@code extra} add more. */
    private Path rewrite(Path src, Predicate<String> keep, WriterEdit extra) throws IOException {
        Path dir = copyConfig(src);
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve("model.safetensors"))) {
            SafetensorsWriter w = new SafetensorsWriter(Map.of());
            f.tensors().values().stream().filter(t -> keep.test(t.name())).forEach(t -> copyTensor(w, t));
            if (extra != null) {
                extra.apply(w);
            }
            w.write(dir.resolve("model.safetensors"));
        }
        return dir;
    }

    private static void copyTensor(SafetensorsWriter w, TensorView t) {
        w.add(t.name(), t.dtype(), t.shape(), out -> out.write(t.toByteArray()));
    }

    private interface ConfigEdit {
        void apply(com.fasterxml.jackson.databind.JsonNode root);
    }

    private static void editConfig(Path dir, ConfigEdit edit) throws IOException {
        var root = JSON.readTree(dir.resolve("config.json").toFile());
        edit.apply(root);
        Files.writeString(dir.resolve("config.json"), root.toString());
        assertFalse(root.isEmpty());
    }
}
