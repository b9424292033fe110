package dev.internvl.mesh.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The tensors of a hub checkpoint directory: one {@code model.safetensors}, or the shards that
 * {@code model.safetensors.index.json} lists. Every shard is memory-mapped; nothing is copied to the heap. A layer
 * shard opens the store with only its own tensors.
 */
public final class WeightStore implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final List<SafetensorsFile> files;
    private final Map<String, TensorView> tensors;

    private WeightStore(List<SafetensorsFile> files, Map<String, TensorView> tensors) {
        this.files = files;
        this.tensors = tensors;
    }

    public static WeightStore open(Path dir) {
        return open(dir, name -> true);
    }

    /** Only the tensors {@code wanted} accepts: only the files that hold them are opened, only their bytes mapped. */
    public static WeightStore open(Path dir, Predicate<String> wanted) {
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return openSharded(dir, index, wanted);
        }
        Path single = dir.resolve(SINGLE_FILE);
        if (!Files.isRegularFile(single)) {
            throw new CheckpointException(dir + ": no " + SINGLE_FILE + " or " + INDEX_FILE + " (not a hub checkpoint directory)");
        }
        SafetensorsFile file = SafetensorsFile.open(single, wanted);
        return new WeightStore(List.of(file), file.tensors());
    }

    private static WeightStore openSharded(Path dir, Path index, Predicate<String> wanted) {
        JsonNode weightMap;
        try {
            JsonNode root = new ObjectMapper().readTree(Files.readString(index));
            weightMap = root == null ? null : root.get("weight_map");
        } catch (IOException e) {
            throw new CheckpointException(index + ": not valid JSON: " + e.getMessage(), e);
        }
        if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
            throw new CheckpointException(index + ": missing or empty 'weight_map'");
        }
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, TensorView> tensors = new LinkedHashMap<>();
        try {
            for (var it = weightMap.fields(); it.hasNext(); ) {
                var entry = it.next();
                String tensorName = entry.getKey();
                if (!wanted.test(tensorName)) {
                    continue;
                }
                String shardName = entry.getValue().asText();
                if (shardName.isEmpty() || shardName.contains("/") || shardName.contains("\\")) {
                    throw new CheckpointException(index + ": tensor '" + tensorName + "' maps to a bad shard name '" + shardName + "'");
                }
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    Path shardPath = dir.resolve(shardName);
                    if (!Files.isRegularFile(shardPath)) {
                        throw new CheckpointException(index + ": tensor '" + tensorName + "' is in shard " + shardName + ", which is missing from " + dir);
                    }
                    shard = SafetensorsFile.open(shardPath, wanted);
                    shards.put(shardName, shard);
                }
                if (!shard.contains(tensorName)) {
                    throw new CheckpointException(shard.path() + ": missing tensor '" + tensorName + "', which " + INDEX_FILE + " places in this shard");
                }
                tensors.put(tensorName, shard.tensor(tensorName));
            }
            for (SafetensorsFile shard : shards.values()) {
                for (String name : shard.tensors().keySet()) {
                    if (!tensors.containsKey(name)) {
                        throw new CheckpointException(shard.path() + ": unexpected tensor '" + name + "', which " + INDEX_FILE + " does not list");
                    }
                }
            }
        } catch (RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new WeightStore(new ArrayList<>(shards.values()), Collections.unmodifiableMap(tensors));
    }

    public Map<String, TensorView> tensors() {
        return tensors;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public TensorView tensor(String name) {
        TensorView t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException("missing tensor '" + name + "' in " + files.getFirst().path().getParent());
        }
        return t;
    }

    /** The file a tensor lives in, for error messages. */
    public Path fileOf(String name) {
        for (SafetensorsFile f : files) {
            if (f.contains(name)) {
                return f.path();
            }
        }
        return files.getFirst().path();
    }

    public List<Path> files() {
        return files.stream().map(SafetensorsFile::path).toList();
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
