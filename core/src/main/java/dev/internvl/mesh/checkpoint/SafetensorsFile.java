package dev.internvl.mesh.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One safetensors file, memory-mapped read-only: an 8-byte little-endian header length, a JSON header, then the raw
 * tensor bytes. Opening reads only the header; tensor data is paged in by the OS when a kernel reads it, so a
 * 160 GB checkpoint opens in the time it takes to parse its headers.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers of real checkpoints are a few MB at most; anything larger is a corrupt length field. */
    private static final long MAX_HEADER_BYTES = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final Arena arena;
    private final Map<String, TensorView> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, Map<String, TensorView> tensors, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment file;
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
                file = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            }
            return parse(path, arena, file);
        } catch (IOException e) {
            arena.close();
            throw new CheckpointException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, Arena arena, MemorySegment file) {
        long fileSize = file.byteSize();
        if (fileSize < 8) {
            throw new CheckpointException(path + ": not a safetensors file: " + fileSize + " bytes, shorter than the 8-byte header length");
        }
        long headerLength = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || headerLength > fileSize - 8) {
            throw new CheckpointException(path + ": corrupt header: header length " + headerLength
                    + " does not fit a file of " + fileSize + " bytes (truncated download or not a safetensors file)");
        }
        byte[] headerBytes = file.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new CheckpointException(path + ": corrupt header: invalid JSON: " + e.getOriginalMessage());
        }
        if (header == null || !header.isObject()) {
            throw new CheckpointException(path + ": corrupt header: expected a JSON object");
        }
        long dataStart = 8 + headerLength;
        long dataSize = fileSize - dataStart;
        MemorySegment data = file.asSlice(dataStart, dataSize);
        Map<String, TensorView> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String name = entry.getKey();
            JsonNode info = entry.getValue();
            if (name.equals("__metadata__")) {
                info.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            tensors.put(name, parseTensor(path, name, info, data, dataSize));
        }
        return new SafetensorsFile(path, arena, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static TensorView parseTensor(Path path, String name, JsonNode info, MemorySegment data, long dataSize) {
        String where = path + ": tensor '" + name + "'";
        if (!info.isObject() || !info.path("dtype").isTextual() || !info.path("shape").isArray()
                || !info.path("data_offsets").isArray() || info.path("data_offsets").size() != 2) {
            throw new CheckpointException(where + ": corrupt header entry " + info);
        }
        String dtypeName = info.get("dtype").asText();
        DType dtype = DType.fromHeaderName(dtypeName).orElseThrow(() ->
                new CheckpointException(where + ": unsupported dtype " + dtypeName));
        JsonNode shapeNode = info.get("shape");
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw new CheckpointException(where + ": corrupt header: bad shape " + shapeNode);
            }
            shape[i] = d.asLong();
        }
        JsonNode offsets = info.get("data_offsets");
        if (!offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()) {
            throw new CheckpointException(where + ": corrupt header: bad data_offsets " + offsets);
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw new CheckpointException(where + ": corrupt header: bad data_offsets " + offsets);
        }
        long expectedBytes;
        try {
            expectedBytes = Math.multiplyExact(TensorView.elementCount(shape), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new CheckpointException(where + ": corrupt header: shape " + shapeNode + " overflows");
        }
        if (end - begin != expectedBytes) {
            throw new CheckpointException(where + ": corrupt header: shape " + shapeNode + " of " + dtype + " needs "
                    + expectedBytes + " bytes but data_offsets span " + (end - begin));
        }
        if (end > dataSize) {
            throw new CheckpointException(where + ": truncated file: the tensor's data ends at byte " + end
                    + " of the data section, which holds only " + dataSize + " bytes");
        }
        return new TensorView(name, dtype, shape, data.asSlice(begin, expectedBytes));
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorView> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public TensorView tensor(String name) {
        TensorView t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException(path + ": missing tensor '" + name + "'");
        }
        return t;
    }

    @Override
    public void close() {
        arena.close();
    }
}
