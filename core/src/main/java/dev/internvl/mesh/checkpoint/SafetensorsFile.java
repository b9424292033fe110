package dev.internvl.mesh.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

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
        return open(path, name -> true);
    }

    /**
     * The file with only the tensors {@code wanted} accepts: the header is read and checked whole, but only the
     * span of bytes from the first to the last wanted tensor is mapped (a layer shard maps its layers alone).
     */
    public static SafetensorsFile open(Path path, Predicate<String> wanted) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileSize = channel.size();
            if (fileSize < 8) {
                throw new CheckpointException(path + ": not a safetensors file: " + fileSize + " bytes, shorter than the 8-byte header length");
            }
            long headerLength = read(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || headerLength > fileSize - 8) {
                throw new CheckpointException(path + ": corrupt header: header length " + headerLength
                        + " does not fit a file of " + fileSize + " bytes (truncated download or not a safetensors file)");
            }
            ByteBuffer headerBytes = read(channel, 8, (int) headerLength);
            JsonNode header;
            try {
                header = JSON.readTree(new String(headerBytes.array(), StandardCharsets.UTF_8));
            } catch (JsonProcessingException e) {
                throw new CheckpointException(path + ": corrupt header: invalid JSON: " + e.getOriginalMessage());
            }
            if (header == null || !header.isObject()) {
                throw new CheckpointException(path + ": corrupt header: expected a JSON object");
            }
            long dataStart = 8 + headerLength;
            long dataSize = fileSize - dataStart;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                String name = field.getKey();
                if (name.equals("__metadata__")) {
                    field.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                } else {
                    entries.put(name, parseEntry(path, name, field.getValue(), dataSize));
                }
            }
            long from = Long.MAX_VALUE;
            long to = 0;
            for (Entry e : entries.values()) {
                if (wanted.test(e.name())) {
                    from = Math.min(from, e.begin());
                    to = Math.max(to, e.begin() + e.bytes());
                }
            }
            Map<String, TensorView> tensors = new LinkedHashMap<>();
            if (from != Long.MAX_VALUE) {
                MemorySegment data = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + from, to - from, arena);
                HugePages.advise(data); // before the first access, so the file is read in 2 MB folios
                HugePages.recacheSmallFolios(path, dataStart + from, data);
                for (Entry e : entries.values()) {
                    if (wanted.test(e.name())) {
                        tensors.put(e.name(), new TensorView(e.name(), e.dtype(), e.shape(), data.asSlice(e.begin() - from, e.bytes())));
                    }
                }
            }
            return new SafetensorsFile(path, arena, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            arena.close();
            throw new CheckpointException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static ByteBuffer read(FileChannel channel, long at, int bytes) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(bytes);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, at + buffer.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
        return buffer.flip();
    }

    /** A header entry, checked against the data section's size. */
    private record Entry(String name, DType dtype, long[] shape, long begin, long bytes) {
    }

    private static Entry parseEntry(Path path, String name, JsonNode info, long dataSize) {
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
        return new Entry(name, dtype, shape, begin, expectedBytes);
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
