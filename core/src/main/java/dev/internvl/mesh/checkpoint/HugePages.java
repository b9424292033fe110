package dev.internvl.mesh.checkpoint;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * 2 MB pages for streamed memory on Linux, through {@code madvise(MADV_HUGEPAGE)}. Decode streams every weight once
 * per step; through 4 KB pages the hardware prefetchers stop at each page boundary and every 4 KB costs a TLB entry,
 * through 2 MB pages neither happens (measured on this project's VM: batch-1 decode 44-45 -> 48-49 tok/s, the same
 * checkpoint cached in 4 KB and in 2 MB folios, read probe 48-50 GB/s both times).
 *
 * <p>For a file mapping the advice makes the kernel read the file from disk in whole 2 MB folios and map them with
 * 2 MB pages (ext4 from Linux 6.16, XFS; on a 256 MB test file: all of it, against 84% for plain sequential faults
 * and none for sparse ones). It does not change folios already in the page cache. Without the system calls (not
 * Linux, no {@code --enable-native-access}) or with transparent huge pages off, nothing changes and nothing fails.
 */
public final class HugePages {
    private static final Logger LOG = LoggerFactory.getLogger(HugePages.class);
    private static final long PAGE = 4096;
    /** The first line of a mapping in {@code /proc/self/smaps}: its address range, then its fields. */
    private static final Pattern MAPPING_LINE = Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");
    /** One 64-bit entry per 4 KB page of this process; bit 63 says whether the page is mapped. */
    private static final Path PAGEMAP = Path.of("/proc/self/pagemap");
    private static final long HUGE_PAGE = 2L << 20;
    private static final int MADV_DONTNEED = 4;
    private static final int MADV_HUGEPAGE = 14;
    private static final int POSIX_FADV_DONTNEED = 4;
    private static final int O_RDONLY = 0;
    /** Mapped ranges smaller than this are left as they are: too few 2 MB pages to matter. */
    private static final long RECACHE_MIN_BYTES = 64L << 20;
    private static final int PROT_READ_WRITE = 0x3;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    /** Where the touches of {@link #recacheSmallFolios} leave their sum, so the JIT keeps the reads. */
    private static long touched;
    private static final MethodHandle MADVISE;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle MINCORE;
    private static final MethodHandle OPEN;
    private static final MethodHandle CLOSE;
    private static final MethodHandle FADVISE;

    static {
        MethodHandle madvise = null;
        MethodHandle mmap = null;
        MethodHandle munmap = null;
        MethodHandle mincore = null;
        MethodHandle open = null;
        MethodHandle close = null;
        MethodHandle fadvise = null;
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                ValueLayout.OfLong size = ValueLayout.JAVA_LONG;
                madvise = linker.downcallHandle(libc.findOrThrow("madvise"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, size, ValueLayout.JAVA_INT));
                mmap = linker.downcallHandle(libc.findOrThrow("mmap"), FunctionDescriptor.of(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, size, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, size));
                munmap = linker.downcallHandle(libc.findOrThrow("munmap"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, size));
                mincore = linker.downcallHandle(libc.findOrThrow("mincore"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, size, ValueLayout.ADDRESS));
                open = linker.downcallHandle(libc.findOrThrow("open"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), Linker.Option.firstVariadicArg(2));
                close = linker.downcallHandle(libc.findOrThrow("close"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                fadvise = linker.downcallHandle(libc.findOrThrow("posix_fadvise"), FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, size, size, ValueLayout.JAVA_INT));
            } catch (RuntimeException e) {
                LOG.debug("no madvise: memory stays on the kernel's default pages ({})", e.toString());
            }
        }
        MADVISE = madvise;
        MMAP = mmap;
        MUNMAP = munmap;
        MINCORE = mincore;
        OPEN = open;
        CLOSE = close;
        FADVISE = fadvise;
    }

    private HugePages() {
    }

    /**
     * Advises 2 MB pages for the pages under {@code mapping} (a memory-mapped file or anonymous memory); whether the
     * kernel took the advice is logged at debug level only, as it changes speed, not results.
     */
    public static void advise(MemorySegment mapping) {
        if (MADVISE == null || mapping.byteSize() == 0) {
            return;
        }
        if (madvise(mapping, MADV_HUGEPAGE) != 0) {
            LOG.debug("madvise(MADV_HUGEPAGE) refused for {} bytes: transparent huge pages off?", mapping.byteSize());
        }
    }

    /**
     * Where the page cache holds parts of a mapped range of {@code file} in small folios (a file written in small
     * pieces, or parts cached before it was mapped with the advice, which does not change folios already cached: by
     * another reader, or read again after the kernel reclaimed them), drops those 2 MB ranges from the cache so that
     * they are read again, in 2 MB folios. Costs one read of those ranges from disk, once. Left alone: ranges under
     * 64 MB, pages other processes have mapped (the kernel keeps those), and files whose 2 MB, dropped and read again
     * as a trial, come back small (a file system without large folios: dropping would only cost a read at every
     * start). Call before the mapping is first used.
     *
     * <p>Which cached 2 MB are on a 2 MB page: one byte of each is touched (cached, so no disk read), and
     * {@code /proc/self/pagemap} says whether the last 4 KB of it is mapped too. A fault maps a whole 2 MB page, or
     * from a small folio only the pages around it (at most 64 KB), never the far end.
     *
     * @param fileOffset where {@code mapping} starts in the file
     */
    public static void recacheSmallFolios(Path file, long fileOffset, MemorySegment mapping) {
        if (MINCORE == null || OPEN == null || FADVISE == null || mapping.byteSize() < RECACHE_MIN_BYTES
                || !Files.isReadable(PAGEMAP)) {
            return;
        }
        try (Arena arena = Arena.ofConfined(); FileChannel pagemap = FileChannel.open(PAGEMAP)) {
            long first = (mapping.address() + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE; // whole 2 MB inside the mapping
            long regions = (mapping.address() + mapping.byteSize() - first) / HUGE_PAGE;
            if (regions <= 0) {
                return;
            }
            MemorySegment resident = arena.allocate(regions * (HUGE_PAGE / PAGE));
            if ((int) MINCORE.invokeExact(MemorySegment.ofAddress(first), regions * HUGE_PAGE, resident) != 0) {
                return;
            }
            ByteBuffer entry = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
            BitSet small = new BitSet();
            long cachedRegions = 0;
            for (long i = 0; i < regions; i++) {
                if (cached(resident, i)) {
                    cachedRegions++;
                    if (!onHugePage(mapping, first + i * HUGE_PAGE, pagemap, entry)) {
                        small.set((int) i);
                    }
                }
            }
            // Unmaps the touched pages again (they stay cached): parts of the file this process never uses would
            // count in its RSS, and its own mappings would keep pages in the cache.
            madvise(mapping, MADV_DONTNEED);
            if (small.isEmpty()) {
                return;
            }
            int fd = (int) OPEN.invokeExact(arena.allocateFrom(file.toString()), O_RDONLY, 0);
            if (fd < 0) {
                return;
            }
            try {
                long trial = first + small.nextSetBit(0) * HUGE_PAGE;
                if (small.cardinality() == cachedRegions
                        && !comesBackHuge(fd, fileOffset, mapping, trial, pagemap, entry)) {
                    LOG.info("{}: cached in small folios, and this file system reads it back in small folios too: left"
                            + " as it is", file.getFileName());
                    return;
                }
                int error = 0;
                if (small.cardinality() * 2 > cachedRegions) {
                    // Mostly small: dropped whole, as range by range some ranges came back small once (a 64 MB
                    // file, 19 of 31 ranges small: 78% on 2 MB pages after the first open, 97% after the second;
                    // dropped whole: 97% after the first).
                    error = (int) FADVISE.invokeExact(fd, fileOffset + first - mapping.address(), regions * HUGE_PAGE,
                            POSIX_FADV_DONTNEED);
                } else {
                    for (int i = small.nextSetBit(0); i >= 0 && error == 0; ) {
                        int end = small.nextClearBit(i); // a run of adjacent small ranges, one call
                        long offset = fileOffset + first + i * HUGE_PAGE - mapping.address();
                        error = (int) FADVISE.invokeExact(fd, offset, (end - i) * HUGE_PAGE, POSIX_FADV_DONTNEED);
                        i = small.nextSetBit(end);
                    }
                }
                LOG.info("{}: {} of {} cached 2 MB ranges of weights in small folios{}", file.getFileName(),
                        small.cardinality(), cachedRegions, error == 0
                                ? ": dropped from the page cache, to be read again in 2 MB folios (faster decode)"
                                : ": posix_fadvise failed with error " + error + ", kept");
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (Throwable e) {
            LOG.debug("{}: page cache left as it is: {}", file, e.toString());
        }
    }

    /** Whether mincore's {@code resident} vector says the first 4 KB of 2 MB range {@code i} is cached. */
    private static boolean cached(MemorySegment resident, long i) {
        return (resident.get(ValueLayout.JAVA_BYTE, i * (HUGE_PAGE / PAGE)) & 1) != 0;
    }

    /**
     * Whether the 2 MB of {@code mapping} at address {@code region}, a cached one, is mapped with a 2 MB page: one
     * byte of it is touched (no disk read), and {@code pagemap} says whether its last 4 KB got mapped too.
     */
    private static boolean onHugePage(MemorySegment mapping, long region, FileChannel pagemap, ByteBuffer entry)
            throws IOException {
        touched += mapping.get(ValueLayout.JAVA_BYTE, region - mapping.address());
        entry.clear();
        return pagemap.read(entry, (region + HUGE_PAGE - PAGE) / PAGE * 8) == 8 && entry.getLong(0) < 0; // bit 63
    }

    /**
     * Whether the 2 MB of {@code mapping} at address {@code trial}, dropped from the page cache and read again, come
     * back on a 2 MB page: a file system that caches files in small folios only (or an older kernel) would bring them
     * back small, and dropping the whole file would then only cost a read from disk at every start.
     */
    private static boolean comesBackHuge(int fd, long fileOffset, MemorySegment mapping, long trial,
                                         FileChannel pagemap, ByteBuffer entry) throws Throwable {
        long at = fileOffset + trial - mapping.address();
        if ((int) FADVISE.invokeExact(fd, at, HUGE_PAGE, POSIX_FADV_DONTNEED) != 0) {
            return false;
        }
        boolean huge = onHugePage(mapping, trial, pagemap, entry);
        madvise(mapping, MADV_DONTNEED);
        return huge;
    }

    /** {@code madvise} over the whole pages under {@code mapping}: 0, or -1 where refused or unavailable. */
    private static int madvise(MemorySegment mapping, int advice) {
        long start = mapping.address() / PAGE * PAGE; // madvise wants a page-aligned start; the mapping owns that page
        long length = mapping.address() + mapping.byteSize() - start;
        try {
            return (int) MADVISE.invokeExact(MemorySegment.ofAddress(start), length, advice);
        } catch (Throwable e) {
            LOG.debug("madvise({}) failed: {}", advice, e.toString());
            return -1;
        }
    }

    /**
     * {@code bytes} of zeroed anonymous memory on 2 MB pages where the kernel has them (4 KB otherwise), unmapped when
     * {@code arena} closes. Java's own allocations are zeroed page by page before any advice could apply, so this
     * maps the memory itself; without the system calls it falls back to {@code arena.allocate}.
     */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (MMAP == null || MUNMAP == null) {
            return arena.allocate(bytes, 1 << 21);
        }
        try {
            MemorySegment at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ_WRITE,
                    MAP_PRIVATE_ANONYMOUS, -1, 0L);
            if (at.address() == -1L) {
                return arena.allocate(bytes, 1 << 21);
            }
            MemorySegment memory = at.reinterpret(bytes, arena, m -> {
                try {
                    int ignored = (int) MUNMAP.invokeExact(m, bytes);
                } catch (Throwable e) {
                    LOG.debug("munmap failed: {}", e.toString());
                }
            });
            advise(memory);
            return memory;
        } catch (Throwable e) {
            return arena.allocate(bytes, 1 << 21);
        }
    }

    /** How much of a process's mappings of one file is resident, and how much of that on 2 MB pages. */
    public record Residency(long residentBytes, long onHugePagesBytes) {
        public double hugeShare() {
            return residentBytes == 0 ? 0 : (double) onHugePagesBytes / residentBytes;
        }
    }

    /**
     * This process's mappings of {@code file}, summed from {@code /proc/self/smaps} ({@code Rss} and
     * {@code FilePmdMapped}); zero where that file does not exist.
     */
    public static Residency residency(Path file) {
        String name;
        try {
            name = file.toRealPath().toString();
        } catch (IOException e) {
            name = file.toAbsolutePath().normalize().toString();
        }
        String suffix = " " + name;
        return residency(line -> line.endsWith(suffix));
    }

    /** Summed over the mappings in {@code /proc/self/smaps} whose first line {@code mapping} accepts. */
    private static Residency residency(Predicate<String> mapping) {
        Path smaps = Path.of("/proc/self/smaps");
        if (!Files.isReadable(smaps)) {
            return new Residency(0, 0);
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(smaps);
        } catch (IOException e) {
            return new Residency(0, 0);
        }
        long rss = 0;
        long pmd = 0;
        boolean selected = false;
        for (String line : lines) {
            if (MAPPING_LINE.matcher(line).lookingAt()) {
                selected = mapping.test(line);
            } else if (selected && line.startsWith("Rss:")) {
                rss += kilobytes(line);
            } else if (selected && line.startsWith("FilePmdMapped:")) {
                pmd += kilobytes(line);
            }
        }
        return new Residency(rss << 10, pmd << 10);
    }

    private static long kilobytes(String smapsLine) {
        String[] parts = smapsLine.trim().split("\\s+");
        return parts.length >= 2 ? Long.parseLong(parts[1]) : 0;
    }
}
