package dev.internvl.mesh.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class HugePagesTest {
    /** Large enough for {@link HugePages#recacheSmallFolios} to look at it: 64 MB of BF16. */
    private static final int VALUES = 32 << 20;

    @TempDir
    Path dir;

    @Test
    void anonymousMemoryIsZeroedWritableAndReleasedWithItsArena() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment m = HugePages.allocate(arena, 8L << 20);
            assertEquals(8L << 20, m.byteSize());
            assertEquals(0, m.get(ValueLayout.JAVA_LONG, (8L << 20) - 8));
            m.set(ValueLayout.JAVA_LONG, 4096, 42);
            assertEquals(42, m.get(ValueLayout.JAVA_LONG, 4096));
        }
    }

    /**
     * A checkpoint the page cache holds in 4 KB folios (written 4 KB at a time) reads back unchanged through a fresh
     * mapping, and, where the kernel and file system cache files in 2 MB folios, on 2 MB pages: opening it dropped
     * the small folios and the reads brought the file back in large ones.
     */
    @Test
    void checkpointCachedInSmallFoliosReadsBackUnchangedOnHugePages() throws IOException {
        Path aligned = dir.resolve("aligned.safetensors");
        new SafetensorsWriter(Map.of()).add("w", DType.BF16, new long[]{VALUES}, HugePagesTest::pattern).write(aligned);
        Path small = dir.resolve("small.safetensors");
        copyInSmallWrites(aligned, small);

        try (SafetensorsFile file = SafetensorsFile.open(small)) {
            assertEquals(expectedSum(), checksum(file), "the data read back through the mapping");
            assumeTrue(hugePagesForLargeFolios(aligned), "this kernel or file system maps files with 4 KB pages only");
            HugePages.Residency r = HugePages.residency(small);
            assertTrue(r.hugeShare() > 0.5, "share on 2 MB pages: " + r.hugeShare()); // 0 without the recache
        }
    }

    /**
     * A checkpoint the page cache holds in 2 MB folios but for its first 8 MB, in 4 KB ones (written 4 KB at a time,
     * the rest in aligned 4 MB writes: the mix a cache shows after parts were reclaimed and read again without the
     * advice), reads back with all of it on 2 MB pages: those ranges alone were dropped and read again. Before, a file
     * mostly on 2 MB pages was left as it was.
     */
    @Test
    void aFewRangesInSmallFoliosAreReadAgainInLargeOnes() throws IOException {
        Path aligned = dir.resolve("aligned.safetensors");
        new SafetensorsWriter(Map.of()).add("w", DType.BF16, new long[]{VALUES}, HugePagesTest::pattern).write(aligned);
        assumeTrue(hugePagesForLargeFolios(aligned), "this kernel or file system maps files with 4 KB pages only");
        Path mixed = dir.resolve("mixed.safetensors");
        copyInWrites(aligned, mixed, 8 << 20);

        try (SafetensorsFile file = SafetensorsFile.open(mixed)) {
            assertEquals(expectedSum(), checksum(file), "the data read back through the mapping");
            HugePages.Residency r = HugePages.residency(mixed);
            assertTrue(r.hugeShare() > 0.95, "share on 2 MB pages: " + r.hugeShare()); // 0.87 left as it was
        }
    }

    /**
     * The control: whether a file the page cache holds in large folios (written in aligned 4 MB chunks) is mapped
     * with 2 MB pages here.
     */
    private static boolean hugePagesForLargeFolios(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(expectedSum(), checksum(f));
            return HugePages.residency(file).hugeShare() > 0.5;
        }
    }

    private static long checksum(SafetensorsFile file) {
        MemorySegment data = file.tensors().get("w").data();
        long sum = 0;
        for (long i = 0; i < VALUES; i++) {
            sum += data.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i);
        }
        return sum;
    }

    private static void pattern(OutputStream out) throws IOException {
        byte[] chunk = new byte[1 << 16];
        for (int i = 0; i < VALUES; i += chunk.length / 2) {
            for (int j = 0; j < chunk.length / 2; j++) {
                short v = value(i + j);
                chunk[2 * j] = (byte) v;
                chunk[2 * j + 1] = (byte) (v >> 8);
            }
            out.write(chunk);
        }
    }

    private static short value(int i) {
        return (short) (i * 31 + (i >>> 16));
    }

    private static long expectedSum() {
        long sum = 0;
        for (int i = 0; i < VALUES; i++) {
            sum += value(i);
        }
        return sum;
    }

    /** A copy written 4 KB at a time, and flushed: the page cache keeps dirty pages whatever it is told. */
    private static void copyInSmallWrites(Path from, Path to) throws IOException {
        copyInWrites(from, to, Files.size(from));
    }

    /**
     * A copy whose first {@code smallBytes} (a multiple of 4 MB, or all of it) are written 4 KB at a time and the rest
     * in 4 MB writes at 4 MB offsets (the page cache keeps what it is given in folios as large as the writes allow),
     * flushed.
     */
    private static void copyInWrites(Path from, Path to, long smallBytes) throws IOException {
        try (InputStream in = Files.newInputStream(from); FileChannel out = FileChannel.open(to,
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] chunk = new byte[4 << 20];
            for (long written = 0; ; ) {
                int n = in.readNBytes(chunk, 0, written < smallBytes ? 4096 : chunk.length);
                if (n == 0) {
                    break;
                }
                out.write(ByteBuffer.wrap(chunk, 0, n));
                written += n;
            }
            out.force(true);
        }
    }
}
