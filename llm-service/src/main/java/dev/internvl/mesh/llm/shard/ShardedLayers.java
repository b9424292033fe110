package dev.internvl.mesh.llm.shard;

import dev.internvl.mesh.checkpoint.LlmConfig;
import dev.internvl.mesh.compute.Precision;
import dev.internvl.mesh.model.llm.ForwardObserver;
import dev.internvl.mesh.model.llm.KvBlockPool;
import dev.internvl.mesh.model.llm.LayerStack;
import dev.internvl.mesh.model.llm.StepLayout;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.DescribeShardRequest;
import dev.internvl.mesh.proto.v1.LayerShardGrpc;
import dev.internvl.mesh.proto.v1.ShardDescription;
import dev.internvl.mesh.proto.v1.ShardForwardRequest;
import dev.internvl.mesh.proto.v1.ShardForwardResponse;
import dev.internvl.mesh.proto.v1.ShardSequence;
import dev.internvl.mesh.serving.FailedTier;
import dev.internvl.mesh.serving.WireTensors;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The decoder layers of a sharded language tier, as the coordinator sees them: layer-shard processes in layer
 * order, each running its range over its own KV storage under the block ids of the coordinator's pool.
 *
 * <p>A step's passes (the decode batch, each prefill chunk) are independent, so they travel as separate
 * micro-batches, and a large decode batch is split into up to {@code microBatches} groups of sequences: while shard 1
 * runs the first micro-batch, shard 0 runs the second, and so on. Each shard takes its calls in arrival order.
 * Hidden states go coordinator → shard → coordinator → next shard rather than shard to shard: one more hop per
 * shard, but the coordinator always knows which shard failed, and a restarted shard needs no reconnection from
 * its neighbours. The last shard returns only the rows that need logits.
 *
 * <p>Failure: a call that fails (process gone, deadline, a restarted shard refusing block tables it never saw)
 * fails the pass with UNAVAILABLE, marks the tier down and tells the {@link Listener}, which fails the running
 * requests and forgets the cached prefixes (a new shard has lost its part of them). A probe asks every shard for
 * its description each interval; when all answer with the same layout again, the tier is up.
 */
public final class ShardedLayers implements LayerStack, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ShardedLayers.class);

    /** Hears the tier go down and come back. */
    public interface Listener {
        void lost(StatusRuntimeException reason);

        void restored();
    }

    private final List<Shard> shards;
    private final LlmConfig config;
    /** The coordinator's numeric path: every shard must run the same. */
    private final Precision precision;
    private final DType wireDtype;
    private final int microBatches;
    private final Duration callTimeout;
    private final ScheduledExecutorService probe;
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder bytesReceived = new LongAdder();
    private final LongAdder rows = new LongAdder();
    private volatile Listener listener = new Listener() {
        @Override
        public void lost(StatusRuntimeException reason) {
        }

        @Override
        public void restored() {
        }
    };
    /** Null while the tier is up; else why it is down. */
    private volatile StatusRuntimeException down;
    private int kvBlockSize;
    private int kvBlocks;

    private static final class Shard {
        final String address;
        final ManagedChannel channel;
        final LayerShardGrpc.LayerShardFutureStub stub;
        volatile ShardDescription description;

        Shard(String address, ChannelCredentials credentials) {
            this.address = address;
            this.channel = NettyChannelBuilder.forTarget(address, credentials).maxInboundMessageSize(256 << 20).build();
            this.stub = LayerShardGrpc.newFutureStub(channel).withMaxOutboundMessageSize(256 << 20);
        }

        String name(int index) {
            ShardDescription d = description;
            return "layer shard " + index + (d == null ? "" : " (layers " + d.getFirstLayer() + "-" + (d.getEndLayer() - 1) + ")")
                    + " at " + address;
        }
    }

    private ShardedLayers(List<String> addresses, ChannelCredentials credentials, LlmConfig config, Precision precision,
                          DType wireDtype, int microBatches, Duration callTimeout) {
        this.shards = addresses.stream().map(a -> new Shard(a, credentials)).toList();
        this.config = config;
        this.precision = precision;
        this.wireDtype = wireDtype;
        this.microBatches = Math.max(1, microBatches);
        this.callTimeout = callTimeout;
        this.probe = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("shard-probe").daemon().factory());
    }

    /**
     * Connects to the shards at {@code addresses} (in layer order) with {@code credentials}, waiting up to
     * {@code connectTimeout} for all of them to answer, and checks that together they run every layer of
     * {@code config} once, on {@code precision}.
     */
    public static ShardedLayers connect(List<String> addresses, ChannelCredentials credentials, LlmConfig config,
                                        Precision precision, DType wireDtype, int microBatches, Duration callTimeout,
                                        Duration connectTimeout, Duration probeInterval) {
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("no layer shard addresses");
        }
        ShardedLayers layers = new ShardedLayers(addresses, credentials, config, precision, wireDtype, microBatches,
                callTimeout);
        try {
            long deadline = System.nanoTime() + connectTimeout.toNanos();
            while (true) {
                try {
                    layers.describeAll();
                    break;
                } catch (StatusRuntimeException e) {
                    if (System.nanoTime() > deadline || e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION) {
                        throw e;
                    }
                    LOG.info("waiting for the layer shards: {}", e.getStatus().getDescription());
                    Thread.sleep(500);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            layers.close();
            throw new IllegalStateException("interrupted while connecting to the layer shards", e);
        } catch (RuntimeException e) {
            layers.close();
            throw e;
        }
        long interval = probeInterval.toMillis();
        layers.probe.scheduleWithFixedDelay(layers::probe, interval, interval, TimeUnit.MILLISECONDS);
        return layers;
    }

    /**
     * Asks every shard for its description and checks the layout; FAILED_PRECONDITION for a layout that can never
     * work (gaps, other model), UNAVAILABLE for a shard that does not answer.
     */
    private void describeAll() {
        List<ShardDescription> found = new ArrayList<>(shards.size());
        for (int i = 0; i < shards.size(); i++) {
            Shard s = shards.get(i);
            try {
                found.add(s.stub.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
                        .describe(DescribeShardRequest.getDefaultInstance()).get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Status.UNAVAILABLE.withDescription("interrupted").asRuntimeException();
            } catch (ExecutionException e) {
                throw unavailable(i, Status.fromThrowable(e.getCause()));
            }
        }
        int expectedFirst = 0;
        int blocks = Integer.MAX_VALUE;
        for (int i = 0; i < found.size(); i++) {
            ShardDescription d = found.get(i);
            String where = shards.get(i).address;
            String problem = null;
            if (d.getNumLayers() != config.numLayers() || d.getHiddenSize() != config.hiddenSize()) {
                problem = "runs a model of " + d.getNumLayers() + " layers of width " + d.getHiddenSize() + ", the coordinator's has "
                        + config.numLayers() + " of width " + config.hiddenSize();
            } else if (d.getFirstLayer() != expectedFirst) {
                problem = "starts at layer " + d.getFirstLayer() + ", expected " + expectedFirst + " (shards must be listed in layer order, without gaps)";
            } else if (!d.getPrecision().equals(precision.name().toLowerCase(java.util.Locale.ROOT))) {
                problem = "runs the " + d.getPrecision() + " path, the coordinator the " + precision + " path";
            } else if (i > 0 && d.getKvBlockSize() != found.getFirst().getKvBlockSize()) {
                problem = "uses KV blocks of " + d.getKvBlockSize() + " positions, shard 0 of " + found.getFirst().getKvBlockSize();
            }
            if (problem != null) {
                throw Status.FAILED_PRECONDITION.withDescription("layer shard " + i + " at " + where + " " + problem).asRuntimeException();
            }
            expectedFirst = d.getEndLayer();
            blocks = Math.min(blocks, d.getKvBlocks());
        }
        if (expectedFirst != config.numLayers()) {
            throw Status.FAILED_PRECONDITION.withDescription("the layer shards run layers 0-" + (expectedFirst - 1) + " of "
                    + config.numLayers() + ": the last ones are missing").asRuntimeException();
        }
        synchronized (this) {
            if (kvBlocks != 0 && (blocks < kvBlocks || found.getFirst().getKvBlockSize() != kvBlockSize)) {
                throw Status.FAILED_PRECONDITION.withDescription("a restarted layer shard holds fewer KV blocks (" + blocks
                        + ") than the coordinator hands out (" + kvBlocks + ")").asRuntimeException();
            }
            kvBlockSize = found.getFirst().getKvBlockSize();
            kvBlocks = kvBlocks == 0 ? blocks : kvBlocks;
            for (int i = 0; i < shards.size(); i++) {
                shards.get(i).description = found.get(i);
            }
        }
    }

    private void probe() {
        List<String> before = shards.stream().map(s -> s.description.getInstanceId()).toList();
        try {
            describeAll();
        } catch (StatusRuntimeException e) {
            markDown(e);
            return;
        } catch (RuntimeException e) {
            LOG.warn("layer shard probe failed", e);
            return;
        }
        List<String> now = shards.stream().map(s -> s.description.getInstanceId()).toList();
        if (!now.equals(before)) {
            // Restarted between two probes: whatever the old processes held is gone.
            markDown(Status.UNAVAILABLE.withDescription("a layer shard restarted").asRuntimeException());
        }
        StatusRuntimeException wasDown = down;
        if (wasDown != null) {
            down = null;
            LOG.info("all {} layer shards answer again: the language tier is up", shards.size());
            listener.restored();
        }
    }

    private void markDown(StatusRuntimeException reason) {
        boolean first;
        synchronized (this) {
            first = down == null;
            down = reason;
        }
        if (first) {
            LOG.warn("language tier down: {}", reason.getStatus().getDescription());
            listener.lost(reason);
        }
    }

    private StatusRuntimeException unavailable(int index, Status cause) {
        return FailedTier.mark(Status.UNAVAILABLE.withDescription(shards.get(index).name(index) + " failed: " + cause.getCode()
                + (cause.getDescription() == null ? "" : " " + cause.getDescription())), FailedTier.LLM_SHARD);
    }

    public void watch(Listener listener) {
        this.listener = listener;
    }

    /** Null while every shard answers; else why the tier is down. */
    public StatusRuntimeException unavailableReason() {
        return down;
    }

    /** KV blocks every shard holds: the size of the coordinator's block pool. */
    public synchronized int kvBlocks() {
        return kvBlocks;
    }

    @Override
    public synchronized KvBlockPool newKvCache(int blockSize, int blockCount) {
        if (blockSize != kvBlockSize || blockCount > kvBlocks) {
            throw new IllegalArgumentException("the layer shards hold " + kvBlocks + " KV blocks of " + kvBlockSize
                    + " positions; asked for " + blockCount + " of " + blockSize);
        }
        return KvBlockPool.withoutStorage(blockSize, blockCount);
    }

    public synchronized int kvBlockSize() {
        return kvBlockSize;
    }

    /** Hidden-state bytes sent to and received from the shards, and the rows (token positions) they carried. */
    public record WireStats(long bytesSent, long bytesReceived, long rows) {
    }

    public WireStats wireStats() {
        return new WireStats(bytesSent.sum(), bytesReceived.sum(), rows.sum());
    }

    /** A part of a pass that travels through the shards on its own: some of its sequences, their rows. */
    record MicroBatch(int pass, List<StepLayout.Entry> entries, float[] input, int[] outputRows) {
    }

    @Override
    public List<float[]> forward(List<Pass> passes, KvBlockPool pool, ForwardObserver observer) {
        StatusRuntimeException reason = down;
        if (reason != null) {
            throw reason;
        }
        List<MicroBatch> batches = new ArrayList<>();
        for (int p = 0; p < passes.size(); p++) {
            split(p, passes.get(p), microBatches, config.hiddenSize(), batches);
        }
        List<CompletableFuture<float[]>> results = new ArrayList<>(batches.size());
        for (MicroBatch b : batches) {
            CompletableFuture<float[]> f = CompletableFuture.completedFuture(b.input());
            for (int s = 0; s < shards.size(); s++) {
                int shard = s;
                f = f.thenCompose(hidden -> call(shard, b, hidden));
            }
            results.add(f);
        }
        int h = config.hiddenSize();
        List<float[]> out = new ArrayList<>(passes.size());
        for (Pass p : passes) {
            out.add(new float[p.outputRows().length * h]);
        }
        int[] filled = new int[passes.size()];
        for (int i = 0; i < batches.size(); i++) {
            float[] hidden;
            try {
                hidden = results.get(i).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
            } catch (ExecutionException e) {
                StatusRuntimeException failure = e.getCause() instanceof StatusRuntimeException s ? s
                        : Status.UNAVAILABLE.withDescription(String.valueOf(e.getCause())).asRuntimeException();
                markDown(failure);
                throw failure;
            }
            int pass = batches.get(i).pass();
            System.arraycopy(hidden, 0, out.get(pass), filled[pass], hidden.length);
            filled[pass] += hidden.length;
        }
        return out;
    }

    /**
     * Fewest rows a group of a split pass keeps. Below this a pass is bound by reading the shard's weights, which
     * costs the same for 1 row as for 48 (the row-dot kernel's range), so splitting would only multiply the reads:
     * with N shards and M groups a step takes N + M - 1 pass times instead of N.
     */
    static final int MIN_ROWS_PER_MICRO_BATCH = 48;

    /**
     * A pass as micro-batches: a single sequence whole, several in up to {@code microBatches} groups of at least
     * {@link #MIN_ROWS_PER_MICRO_BATCH} rows.
     */
    static void split(int index, Pass pass, int microBatches, int h, List<MicroBatch> into) {
        List<StepLayout.Entry> entries = pass.layout().entries();
        int groups = Math.max(1, Math.min(Math.min(microBatches, entries.size()), pass.layout().rows() / MIN_ROWS_PER_MICRO_BATCH));
        int row = 0;
        int output = 0;
        int[] outputRows = pass.outputRows();
        for (int g = 0; g < groups; g++) {
            int from = g * entries.size() / groups;
            int to = (g + 1) * entries.size() / groups;
            List<StepLayout.Entry> mine = entries.subList(from, to);
            int count = mine.stream().mapToInt(StepLayout.Entry::count).sum();
            float[] input = java.util.Arrays.copyOfRange(pass.input(), row * h, (row + count) * h);
            int firstOutput = output;
            while (output < outputRows.length && outputRows[output] < row + count) {
                output++;
            }
            int[] wanted = new int[output - firstOutput];
            for (int j = 0; j < wanted.length; j++) {
                wanted[j] = outputRows[firstOutput + j] - row;
            }
            into.add(new MicroBatch(index, List.copyOf(mine), input, wanted));
            row += count;
        }
    }

    private CompletableFuture<float[]> call(int index, MicroBatch batch, float[] hidden) {
        Shard shard = shards.get(index);
        boolean last = index == shards.size() - 1;
        int rowCount = hidden.length / config.hiddenSize();
        ShardForwardRequest.Builder request = ShardForwardRequest.newBuilder()
                .setInstanceId(shard.description.getInstanceId())
                .setHidden(WireTensors.encode(hidden, 0, hidden.length, new long[]{rowCount, config.hiddenSize()}, wireDtype));
        for (StepLayout.Entry e : batch.entries()) {
            ShardSequence.Builder s = ShardSequence.newBuilder().setStart(e.start()).setCount(e.count());
            for (int block : e.blockTable()) {
                s.addBlockTable(block);
            }
            request.addSequences(s);
        }
        if (last) {
            for (int r : batch.outputRows()) {
                request.addOutputRows(r);
            }
        } else {
            request.setAllRows(true);
        }
        ShardForwardRequest built = request.build();
        bytesSent.add(built.getHidden().getData().size());
        rows.add(rowCount);
        CompletableFuture<float[]> result = new CompletableFuture<>();
        var call = shard.stub.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS).forward(built);
        call.addListener(() -> {
            try {
                ShardForwardResponse response = call.get();
                bytesReceived.add(response.getHidden().getData().size());
                result.complete(WireTensors.decode(response.getHidden()));
            } catch (ExecutionException e) {
                result.completeExceptionally(unavailable(index, Status.fromThrowable(e.getCause())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                result.completeExceptionally(e);
            } catch (RuntimeException e) {
                result.completeExceptionally(unavailable(index, Status.INTERNAL.withDescription(e.getMessage())));
            }
        }, Runnable::run);
        return result;
    }

    @Override
    public void close() {
        probe.shutdownNow();
        for (Shard s : shards) {
            s.channel.shutdownNow();
        }
    }
}
