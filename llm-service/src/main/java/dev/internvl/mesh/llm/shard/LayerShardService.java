package dev.internvl.mesh.llm.shard;

import dev.internvl.mesh.model.llm.DecoderLayers;
import dev.internvl.mesh.model.llm.ForwardObserver;
import dev.internvl.mesh.model.llm.KvStorage;
import dev.internvl.mesh.model.llm.StepLayout;
import dev.internvl.mesh.proto.v1.DescribeShardRequest;
import dev.internvl.mesh.proto.v1.LayerShardGrpc;
import dev.internvl.mesh.proto.v1.ShardDescription;
import dev.internvl.mesh.proto.v1.ShardForwardRequest;
import dev.internvl.mesh.proto.v1.ShardForwardResponse;
import dev.internvl.mesh.proto.v1.ShardSequence;
import dev.internvl.mesh.serving.WireTensors;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * One layer shard over gRPC: passes run through its {@link DecoderLayers} one at a time, in arrival order, on a
 * worker thread of their own (the compute pool does the parallel work), their keys and values kept in this
 * process's {@link KvStorage} under the coordinator's block ids.
 */
final class LayerShardService extends LayerShardGrpc.LayerShardImplBase implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LayerShardService.class);

    private final DecoderLayers layers;
    private final KvStorage storage;
    private final ShardDescription description;
    private final int hidden;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("shard-forward").factory());
    private final Counter passes;
    private final Counter rows;
    private final Histogram duration;

    LayerShardService(DecoderLayers layers, KvStorage storage, ShardDescription description, PrometheusRegistry registry) {
        this.layers = layers;
        this.storage = storage;
        this.description = description;
        this.hidden = description.getHiddenSize();
        this.passes = Counter.builder().name("llm_shard_passes_total").help("Forward calls by final gRPC status code")
                .labelNames("code").register(registry);
        this.rows = Counter.builder().name("llm_shard_rows_total").help("Token positions run through this shard's layers")
                .register(registry);
        this.duration = Histogram.builder().name("llm_shard_forward_seconds").unit(Unit.SECONDS)
                .help("Time a forward call takes on this shard, queueing included").register(registry);
    }

    @Override
    public void describe(DescribeShardRequest request, StreamObserver<ShardDescription> response) {
        response.onNext(description);
        response.onCompleted();
    }

    @Override
    public void forward(ShardForwardRequest request, StreamObserver<ShardForwardResponse> response) {
        long start = System.nanoTime();
        Context context = Context.current();
        worker.execute(() -> {
            Status status = Status.OK;
            try {
                if (context.isCancelled()) {
                    status = Status.CANCELLED.withDescription("cancelled before it ran");
                } else {
                    response.onNext(run(request));
                }
            } catch (IllegalArgumentException e) {
                status = Status.INVALID_ARGUMENT.withDescription(e.getMessage());
            } catch (StaleInstanceException e) {
                status = Status.FAILED_PRECONDITION.withDescription(e.getMessage());
            } catch (RuntimeException e) {
                LOG.error("forward pass failed", e);
                status = Status.INTERNAL.withDescription("forward pass failed: " + e);
            }
            if (status.isOk()) {
                response.onCompleted();
            } else {
                response.onError(status.asRuntimeException());
            }
            passes.labelValues(status.getCode().name()).inc();
            duration.observe((System.nanoTime() - start) / 1e9);
        });
    }

    private static final class StaleInstanceException extends RuntimeException {
        StaleInstanceException(String message) {
            super(message);
        }
    }

    private ShardForwardResponse run(ShardForwardRequest request) {
        if (!request.getInstanceId().equals(description.getInstanceId())) {
            throw new StaleInstanceException("this layer shard is instance " + description.getInstanceId()
                    + ", the block tables are for instance " + request.getInstanceId() + " (the shard restarted)");
        }
        if (request.getSequencesCount() == 0) {
            throw new IllegalArgumentException("a pass needs at least one sequence");
        }
        List<StepLayout.Entry> entries = new ArrayList<>(request.getSequencesCount());
        for (ShardSequence s : request.getSequencesList()) {
            int[] table = s.getBlockTableList().stream().mapToInt(Integer::intValue).toArray();
            entries.add(new StepLayout.Entry(table, s.getStart(), s.getCount()));
        }
        StepLayout layout = new StepLayout(entries);
        float[] x = WireTensors.decode(request.getHidden());
        if (request.getHidden().getShapeCount() != 2 || request.getHidden().getShape(1) != hidden) {
            throw new IllegalArgumentException("hidden states must be [rows, " + hidden + "], got " + request.getHidden().getShapeList());
        }
        layers.run(layout, x, storage, ForwardObserver.NONE);
        int rowCount = layout.rows();
        rows.inc(rowCount);
        float[] out;
        if (request.getAllRows()) {
            out = x;
        } else {
            int[] wanted = request.getOutputRowsList().stream().mapToInt(Integer::intValue).toArray();
            for (int r : wanted) {
                if (r < 0 || r >= rowCount) {
                    throw new IllegalArgumentException("output row " + r + " outside the pass's " + rowCount + " rows");
                }
            }
            out = layers.rows(x, wanted);
        }
        return ShardForwardResponse.newBuilder()
                .setHidden(WireTensors.encode(out, 0, out.length, new long[]{out.length / hidden, hidden}, request.getHidden().getDtype()))
                .build();
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
