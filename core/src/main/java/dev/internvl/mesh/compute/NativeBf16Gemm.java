package dev.internvl.mesh.compute;

import dev.internvl.mesh.checkpoint.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The fast path's many-row products with BF16 weights: oneDNN's matmul primitive on BF16 activations and the
 * memory-mapped BF16 weights in place, fp32 accumulation and output. The Vector API has no BF16 dot product; on a CPU
 * with AVX512_BF16 oneDNN's {@code vdpbf16ps} kernels run at twice the fp32 FMA rate (measured here: 465 against 228
 * GFLOP/s per thread for 512 x 896 x 4864). Used only where that holds: Linux x86-64, a CPU oneDNN runs with BF16
 * instructions, and not disabled with {@code -Dmesh.compute.native=false}; otherwise {@link #supports} is false and
 * the caller keeps the Vector API kernels.
 *
 * <p>The native libraries come from the {@code org.bytedeco:dnnl} and {@code opencl} jars (only their .so files are
 * used, through the FFM API) and are copied once into a directory under {@code java.io.tmpdir}. Threading stays with
 * the {@link ComputePool}: each pool thread runs its own single-threaded primitive over its share of the output
 * columns, so OpenMP never spins beside the pool's threads.
 */
final class NativeBf16Gemm {
    private static final Logger LOG = LoggerFactory.getLogger(NativeBf16Gemm.class);
    /** Set to false to keep the fast path on the Vector API kernels. */
    static final String PROPERTY = "mesh.compute.native";
    private static final String VERSION = "dnnl-3.8.1-1.5.12";
    private static final String[] LIBRARIES = {
            "org/bytedeco/opencl/linux-x86_64/libOpenCL.so.1",
            "org/bytedeco/dnnl/linux-x86_64/libgomp.so.1",
            "org/bytedeco/dnnl/linux-x86_64/libdnnl.so.3"};
    private static final int DNNL_CPU = 1;
    private static final int DNNL_BF16 = 2;
    private static final int DNNL_F32 = 3;
    private static final int ISA_AVX512_CORE_BF16 = 0xe7;
    private static final int ARG_SRC = 1;
    private static final int ARG_DST = 17;
    private static final int ARG_WEIGHTS = 33;
    /** {@code dnnl_exec_arg_t}: an int argument index and a memory handle. */
    private static final MemoryLayout EXEC_ARG = MemoryLayout.structLayout(ValueLayout.JAVA_INT,
            MemoryLayout.paddingLayout(4), ValueLayout.ADDRESS);

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));

    /** Output columns per oneDNN call come in whole panels of its kernels, at least two (k and v are one call each). */
    private static final int PANEL = 64;
    private static final int MIN_SLICE = 2 * PANEL;
    /**
     * Bytes of W per oneDNN call, each read through in order first ({@link #readThrough}): they then stay in L2
     * (and L3) while oneDNN copies them into its BF16 pair layout, which reads 64 rows side by side, a pattern the
     * hardware prefetchers do not follow from memory.
     */
    private static final int CHUNK_BYTES = 1 << 18;
    /**
     * From this many x rows to {@link #SWAPPED_MAX_ROWS}, the product runs with its operands swapped: W's rows as
     * oneDNN's source, read in place, and x as its (small) weights, which it packs instead of W; the output comes
     * back transposed. Fast-path decode, both builds in one process, interleaved: batch 16 +8% (slow memory
     * state, 30 rounds) and +21% (fast, 8), batch 32 +1.5% and +4%; through oneDNN alone, 16 rows, the largest
     * matrices 10-15% faster. At 4 rows the swap measured 5-15% slower, at 8 even.
     */
    private static final int SWAPPED_MIN_ROWS = 16;
    /** Prefill's chunks of hundreds of rows keep W as the packed operand, packed once for all of them. */
    private static final int SWAPPED_MAX_ROWS = 64;
    /**
     * Bytes of W per call with the operands swapped, read through first as well (without, 1.5-2x slower): 512 KB
     * to 2 MB measured alike, 256 KB a little slower.
     */
    private static final int SWAPPED_CHUNK_BYTES = 1 << 20;
    /** Where {@link #readThrough} leaves its sum, so the JIT keeps the reads. */
    private static long readThroughSum;

    private static final Dnnl DNNL = Dnnl.load();
    /** A thread's native buffers for BF16 x (as caller) and fp32 y (as a task), reused across calls. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        private MemorySegment source = MemorySegment.NULL;
        private MemorySegment output = MemorySegment.NULL;
        private float[] transposed = new float[0];

        /** At least {@code bytes} for a call's BF16 x, which the pool's threads read (an automatic arena). */
        MemorySegment source(long bytes) {
            if (source.byteSize() < bytes) {
                source = Arena.ofAuto().allocate(bytes, 64);
            }
            return source;
        }

        /** At least {@code bytes} for a task's fp32 output, before it is stored into y. */
        MemorySegment output(long bytes) {
            if (output.byteSize() < bytes) {
                output = Arena.ofAuto().allocate(bytes, 64);
            }
            return output;
        }

        /** A task's swapped output copied onto the heap, where the Vector API can gather from it. */
        float[] transposed(int floats) {
            if (transposed.length < floats) {
                transposed = new float[floats];
            }
            return transposed;
        }
    }

    private NativeBf16Gemm() {
    }

    /** Whether products with {@code w} run here. */
    static boolean supports(WeightMatrix w) {
        return DNNL != null && w.dtype() == DType.BF16;
    }

    /** Whether the native library loaded and runs BF16 instructions on this CPU. */
    static boolean available() {
        return DNNL != null;
    }

    /**
     * {@code y (+)= bf16(x) · Wᵀ + bias} for every target, all with the same x, as {@link MatMul#matmul}: x is
     * converted once, and all targets' column slices run as one job of the pool, each task storing its own columns,
     * so a layer's q, k and v cost one hand-off (a decode batch's step makes about 100 such calls).
     */
    static void product(ComputePool pool, float[] x, int xOff, int ldx, int rows, List<ProductTarget> targets,
                        boolean accumulate) {
        int k = ProductTarget.sharedInDim(targets);
        int threads = pool.availableParallelism();
        // Each target in column slices of whole panels, about one per thread.
        int[] slice = new int[targets.size()];
        int[] firstTask = new int[targets.size() + 1];
        for (int i = 0; i < targets.size(); i++) {
            int n = targets.get(i).w().outDim();
            slice[i] = Math.max(MIN_SLICE, MatMul.ceilDiv(MatMul.ceilDiv(n, threads), PANEL) * PANEL);
            firstTask[i + 1] = firstTask[i] + MatMul.ceilDiv(n, slice[i]);
        }
        boolean swapped = rows >= SWAPPED_MIN_ROWS && rows <= SWAPPED_MAX_ROWS;
        // A swapped product's output is gathered back into rows: lane i takes column i of a vector's worth.
        int[] stride = swapped ? java.util.stream.IntStream.range(0, F.length()).map(lane -> lane * rows).toArray()
                : null;
        // Each task hands oneDNN a chunk of W at a time (CHUNK_BYTES, or SWAPPED_CHUNK_BYTES), read through first.
        int chunk = Math.max(PANEL, (swapped ? SWAPPED_CHUNK_BYTES : CHUNK_BYTES) / (k * 2) / PANEL * PANEL);
        MemorySegment src = SCRATCH.get().source((long) rows * k * 2);
        // The conversion is split over the pool only when large (prefill); a decode batch's few rows are
        // converted inline, without a hand-off.
        int inRows = rowsPerTask(rows, k, threads);
        pool.parallelFor(MatMul.ceilDiv(rows, inRows), task -> {
            for (int m = task * inRows; m < Math.min(rows, (task + 1) * inRows); m++) {
                toBf16(x, xOff + m * ldx, k, src, (long) m * k * 2);
            }
        });
        pool.parallelFor(firstTask[targets.size()], task -> {
            int i = 0;
            while (task >= firstTask[i + 1]) {
                i++;
            }
            ProductTarget t = targets.get(i);
            int n0 = (task - firstTask[i]) * slice[i];
            int count = Math.min(slice[i], t.w().outDim() - n0);
            Scratch scratch = SCRATCH.get();
            MemorySegment dst = scratch.output((long) rows * count * 4);
            for (int c0 = 0; c0 < count; c0 += chunk) {
                int columns = Math.min(chunk, count - c0);
                MemorySegment weights = t.w().data().asSlice((long) (n0 + c0) * k * 2, (long) columns * k * 2);
                readThrough(weights);
                if (swapped) { // dst[columns, rows], the chunks one after another
                    DNNL.execute(columns, k, rows, rows, weights, src, dst.asSlice((long) c0 * rows * 4));
                } else { // dst[rows, count], the chunks side by side
                    DNNL.execute(rows, k, columns, count, src, weights, dst.asSlice((long) c0 * 4));
                }
            }
            if (swapped) {
                float[] columnsFirst = scratch.transposed(rows * count);
                MemorySegment.copy(dst, ValueLayout.JAVA_FLOAT, 0, columnsFirst, 0, rows * count);
                for (int m = 0; m < rows; m++) {
                    storeTransposed(columnsFirst, rows, stride, m, count, t.bias(), n0, t.rowArrays()[m],
                            t.rowStarts()[m] + n0, accumulate);
                }
            } else {
                for (int m = 0; m < rows; m++) {
                    store(dst, (long) m * count * 4, count, t.bias(), n0, t.rowArrays()[m], t.rowStarts()[m] + n0,
                            accumulate);
                }
            }
        });
    }

    /**
     * Reads one value of every cache line of {@code m}, in order, its two halves side by side: sequential streams,
     * which the prefetchers run ahead of, bring the chunk into cache faster than the strided reads of oneDNN's copy
     * would. Java has no prefetch instruction, so these are plain loads. Batch-16 decode (fast path), separate JVMs,
     * three pairs: 268-281 tok/s without, 305-330 with one stream; 128 KB to 512 KB chunks measured alike; the
     * smaller oneDNN calls alone, without the reads, changed nothing. Two streams rather than one (as the read probe
     * measures faster): batch 16 +2-5% (321-330 -> 331-337 tok/s medians, three pairs), batch 4 +6-7%.
     */
    private static void readThrough(MemorySegment m) {
        long sum = 0;
        long half = m.byteSize() / 2 / 64 * 64;
        for (long at = 0; at < half; at += 64) {
            sum += m.get(ValueLayout.JAVA_BYTE, at) + m.get(ValueLayout.JAVA_BYTE, half + at);
        }
        for (long at = 2 * half; at < m.byteSize(); at += 64) {
            sum += m.get(ValueLayout.JAVA_BYTE, at); // one byte brings in its line; a wider read could pass the end
        }
        readThroughSum += sum;
    }

    /** Rows of {@code width} values per conversion task: four tasks a thread, each at least 64K values. */
    private static int rowsPerTask(int rows, int width, int threads) {
        return Math.max(MatMul.ceilDiv(rows, threads * 4), MatMul.ceilDiv(1 << 16, width));
    }

    /** {@code count} floats rounded to BF16 (nearest even) into {@code dst} at byte offset {@code at}. */
    private static void toBf16(float[] x, int off, int count, MemorySegment dst, long at) {
        int i = 0;
        for (int bound = S.loopBound(count); i < bound; i += S.length()) {
            IntVector b = FloatVector.fromArray(F, x, off + i).reinterpretAsInts();
            IntVector rounded = b.add(0x7FFF).add(b.lanewise(VectorOperators.LSHR, 16).and(1))
                    .lanewise(VectorOperators.LSHR, 16);
            ((ShortVector) rounded.convertShape(VectorOperators.I2S, S, 0))
                    .intoMemorySegment(dst, at + 2L * i, ByteOrder.nativeOrder());
        }
        for (; i < count; i++) {
            dst.set(ValueLayout.JAVA_SHORT, at + 2L * i, Bf16.bits(x[off + i]));
        }
    }

    /**
     * {@code y[yOff + j] (+)= dst[j] + bias[biasOff + j]} for {@code count} fp32 values of dst from byte offset
     * {@code at}; {@code bias} may be null.
     */
    private static void store(MemorySegment dst, long at, int count, float[] bias, int biasOff, float[] y, int yOff,
                              boolean accumulate) {
        int j = 0;
        for (int bound = F.loopBound(count); j < bound; j += F.length()) {
            FloatVector v = FloatVector.fromMemorySegment(F, dst, at + 4L * j, ByteOrder.nativeOrder());
            storeLanes(v, bias, biasOff + j, y, yOff + j, accumulate);
        }
        for (; j < count; j++) {
            storeOne(dst.get(ValueLayout.JAVA_FLOAT, at + 4L * j), bias, biasOff + j, y, yOff + j, accumulate);
        }
    }

    /**
     * As {@link #store} for row {@code m} of a swapped product's output, {@code columnsFirst[j * rows + m]} for
     * {@code count} columns: each vector gathered at {@code stride}, the lanes' offsets {@code 0, rows, 2 rows, ...}.
     */
    private static void storeTransposed(float[] columnsFirst, int rows, int[] stride, int m, int count, float[] bias,
                                        int biasOff, float[] y, int yOff, boolean accumulate) {
        int j = 0;
        for (int bound = F.loopBound(count); j < bound; j += F.length()) {
            FloatVector v = FloatVector.fromArray(F, columnsFirst, j * rows + m, stride, 0);
            storeLanes(v, bias, biasOff + j, y, yOff + j, accumulate);
        }
        for (; j < count; j++) {
            storeOne(columnsFirst[j * rows + m], bias, biasOff + j, y, yOff + j, accumulate);
        }
    }

    private static void storeLanes(FloatVector v, float[] bias, int biasOff, float[] y, int yOff, boolean accumulate) {
        if (bias != null) {
            v = v.add(FloatVector.fromArray(F, bias, biasOff));
        }
        if (accumulate) {
            v = v.add(FloatVector.fromArray(F, y, yOff));
        }
        v.intoArray(y, yOff);
    }

    private static void storeOne(float value, float[] bias, int biasOff, float[] y, int yOff, boolean accumulate) {
        float v = value + (bias != null ? bias[biasOff] : 0f);
        y[yOff] = accumulate ? y[yOff] + v : v;
    }

    /** The oneDNN entry points, an engine, and per-thread streams and primitives (neither is shared). */
    private static final class Dnnl {
        private final MethodHandle memoryDescCreate;
        private final MethodHandle matmulDescCreate;
        private final MethodHandle primitiveCreate;
        private final MethodHandle memoryCreate;
        private final MethodHandle setDataHandle;
        private final MethodHandle execute;
        private final MethodHandle streamCreate;
        private final MethodHandle streamWait;
        private final MethodHandle setThreads;
        private final MemorySegment engine;
        private final ThreadLocal<PerThread> perThread = ThreadLocal.withInitial(PerThread::new);

        /** A thread's stream and its primitives by shape; created on first use, kept for the process. */
        private final class PerThread {
            final MemorySegment stream;
            final Map<Shape, Primitive> primitives = new ConcurrentHashMap<>();

            PerThread() {
                try {
                    setThreads.invokeExact(1);
                    MemorySegment out = Arena.global().allocate(ValueLayout.ADDRESS);
                    check((int) streamCreate.invokeExact(out, engine, 1), "dnnl_stream_create");
                    stream = out.get(ValueLayout.ADDRESS, 0);
                } catch (Throwable e) {
                    throw new IllegalStateException("oneDNN stream", e);
                }
            }
        }

        private record Shape(int rows, int k, int count, int ld) {
        }

        /**
         * A primitive with its memory objects and execution arguments, made once: each call only points the memory
         * objects at its data (a decode step makes about 100 calls per thread).
         */
        private record Primitive(MemorySegment primitive, MemorySegment src, MemorySegment weights, MemorySegment dst,
                                 MemorySegment args) {
        }

        private Dnnl(SymbolLookup dnnl, SymbolLookup gomp) throws Throwable {
            Linker linker = Linker.nativeLinker();
            AddressLayout a = ValueLayout.ADDRESS;
            ValueLayout i = ValueLayout.JAVA_INT;
            memoryDescCreate = linker.downcallHandle(dnnl.findOrThrow("dnnl_memory_desc_create_with_strides"),
                    FunctionDescriptor.of(i, a, i, a, i, a));
            matmulDescCreate = linker.downcallHandle(dnnl.findOrThrow("dnnl_matmul_primitive_desc_create"),
                    FunctionDescriptor.of(i, a, a, a, a, a, a, a));
            primitiveCreate = linker.downcallHandle(dnnl.findOrThrow("dnnl_primitive_create"), FunctionDescriptor.of(i, a, a));
            memoryCreate = linker.downcallHandle(dnnl.findOrThrow("dnnl_memory_create"), FunctionDescriptor.of(i, a, a, a, a));
            setDataHandle = linker.downcallHandle(dnnl.findOrThrow("dnnl_memory_set_data_handle"),
                    FunctionDescriptor.of(i, a, a));
            execute = linker.downcallHandle(dnnl.findOrThrow("dnnl_primitive_execute"), FunctionDescriptor.of(i, a, a, i, a));
            streamCreate = linker.downcallHandle(dnnl.findOrThrow("dnnl_stream_create"), FunctionDescriptor.of(i, a, a, i));
            streamWait = linker.downcallHandle(dnnl.findOrThrow("dnnl_stream_wait"), FunctionDescriptor.of(i, a));
            setThreads = linker.downcallHandle(gomp.findOrThrow("omp_set_num_threads"), FunctionDescriptor.ofVoid(i));
            MethodHandle engineCreate = linker.downcallHandle(dnnl.findOrThrow("dnnl_engine_create"),
                    FunctionDescriptor.of(i, a, i, ValueLayout.JAVA_LONG));
            MemorySegment out = Arena.global().allocate(a);
            check((int) engineCreate.invokeExact(out, DNNL_CPU, 0L), "dnnl_engine_create");
            engine = out.get(a, 0);
        }

        /** The library, or null (with the reason logged) where it cannot run BF16 instructions here. */
        static Dnnl load() {
            if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true"))) {
                return null;
            }
            String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
            String arch = System.getProperty("os.arch", "");
            if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))
                    || NativeBf16Gemm.class.getClassLoader().getResource(LIBRARIES[2]) == null) {
                return null;
            }
            try {
                Path dir = extract();
                Arena global = Arena.global();
                SymbolLookup.libraryLookup(dir.resolve("libOpenCL.so.1"), global);
                SymbolLookup gomp = SymbolLookup.libraryLookup(dir.resolve("libgomp.so.1"), global);
                SymbolLookup dnnl = SymbolLookup.libraryLookup(dir.resolve("libdnnl.so.3"), global);
                MethodHandle isa = Linker.nativeLinker().downcallHandle(dnnl.findOrThrow("dnnl_get_effective_cpu_isa"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT));
                int effective = (int) isa.invokeExact();
                if ((effective & ISA_AVX512_CORE_BF16) != ISA_AVX512_CORE_BF16) {
                    LOG.info("oneDNN runs without BF16 instructions on this CPU (ISA 0x{}): fast path on the Vector API",
                            Integer.toHexString(effective));
                    return null;
                }
                return new Dnnl(dnnl, gomp);
            } catch (Throwable e) {
                LOG.warn("oneDNN not loaded, fast path on the Vector API: {}", e.toString());
                return null;
            }
        }

        /** Copies the libraries out of their jars once, into a directory named after their version. */
        private static Path extract() throws IOException {
            Path dir = Path.of(System.getProperty("java.io.tmpdir"), "internvl-mesh-" + VERSION);
            Files.createDirectories(dir);
            for (String resource : LIBRARIES) {
                Path target = dir.resolve(resource.substring(resource.lastIndexOf('/') + 1));
                var url = NativeBf16Gemm.class.getClassLoader().getResource(resource);
                if (url == null) {
                    throw new IOException(resource + " is not on the class path");
                }
                long size = url.openConnection().getContentLengthLong();
                if (Files.exists(target) && Files.size(target) == size) {
                    continue;
                }
                Path partial = Files.createTempFile(dir, "part", ".so");
                try (InputStream in = url.openStream()) {
                    Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
                }
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            return dir;
        }

        /**
         * {@code dst[rows, count] (row stride ld) = src[rows, k] · w[count, k]ᵀ} on the calling thread, BF16 in and
         * fp32 out; {@code w} is oneDNN's operand role (the one it packs), which x takes in a swapped product.
         */
        void execute(int rows, int k, int count, int ld, MemorySegment src, MemorySegment w, MemorySegment dst) {
            PerThread mine = perThread.get();
            Primitive p = mine.primitives.computeIfAbsent(new Shape(rows, k, count, ld), key -> create(rows, k, count, ld));
            try {
                check((int) setDataHandle.invokeExact(p.src(), src), "dnnl_memory_set_data_handle");
                check((int) setDataHandle.invokeExact(p.weights(), w), "dnnl_memory_set_data_handle");
                check((int) setDataHandle.invokeExact(p.dst(), dst), "dnnl_memory_set_data_handle");
                check((int) execute.invokeExact(p.primitive(), mine.stream, 3, p.args()), "dnnl_primitive_execute");
                check((int) streamWait.invokeExact(mine.stream), "dnnl_stream_wait");
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        }

        private Primitive create(int rows, int k, int count, int ld) {
            try {
                Arena arena = Arena.global();
                MemorySegment src = desc(arena, rows, k, DNNL_BF16, k, 1);
                MemorySegment weights = desc(arena, k, count, DNNL_BF16, 1, k);
                MemorySegment dst = desc(arena, rows, count, DNNL_F32, ld, 1);
                MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
                check((int) matmulDescCreate.invokeExact(out, engine, src, weights, MemorySegment.NULL, dst,
                        MemorySegment.NULL), "dnnl_matmul_primitive_desc_create");
                MemorySegment descriptor = out.get(ValueLayout.ADDRESS, 0);
                check((int) primitiveCreate.invokeExact(out, descriptor), "dnnl_primitive_create");
                MemorySegment primitive = out.get(ValueLayout.ADDRESS, 0);
                MemorySegment srcMemory = memory(arena, src);
                MemorySegment weightMemory = memory(arena, weights);
                MemorySegment dstMemory = memory(arena, dst);
                MemorySegment args = arena.allocate(EXEC_ARG, 3);
                setArg(args, 0, ARG_SRC, srcMemory);
                setArg(args, 1, ARG_WEIGHTS, weightMemory);
                setArg(args, 2, ARG_DST, dstMemory);
                return new Primitive(primitive, srcMemory, weightMemory, dstMemory, args);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        }

        /** A 2-D memory descriptor {@code [d0, d1]} with element strides {@code s0, s1}. */
        private MemorySegment desc(Arena arena, long d0, long d1, int type, long s0, long s1) throws Throwable {
            MemorySegment dims = arena.allocateFrom(ValueLayout.JAVA_LONG, d0, d1);
            MemorySegment strides = arena.allocateFrom(ValueLayout.JAVA_LONG, s0, s1);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check((int) memoryDescCreate.invokeExact(out, 2, dims, type, strides), "dnnl_memory_desc_create_with_strides");
            return out.get(ValueLayout.ADDRESS, 0);
        }

        /** A memory object for {@code desc} with no data yet ({@code DNNL_MEMORY_NONE}); calls set its handle. */
        private MemorySegment memory(Arena arena, MemorySegment desc) throws Throwable {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check((int) memoryCreate.invokeExact(out, desc, engine, MemorySegment.NULL), "dnnl_memory_create");
            return out.get(ValueLayout.ADDRESS, 0);
        }

        private static void setArg(MemorySegment args, int index, int arg, MemorySegment memory) {
            long base = index * EXEC_ARG.byteSize();
            args.set(ValueLayout.JAVA_INT, base, arg);
            args.set(ValueLayout.ADDRESS, base + 8, memory);
        }

        private static void check(int status, String call) {
            if (status != 0) {
                throw new IllegalStateException(call + " failed with oneDNN status " + status);
            }
        }
    }
}
