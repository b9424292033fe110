package dev.internvl.mesh.llm;

import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.EncodeRequest;
import dev.internvl.mesh.proto.v1.TileEmbedding;
import dev.internvl.mesh.proto.v1.TilingOptions;
import dev.internvl.mesh.proto.v1.VisionServiceGrpc;
import dev.internvl.mesh.serving.WireTensors;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Asks the vision tier for an image's embeddings and gathers its tile stream into one array. Calls inherit the
 * caller's gRPC context, so a cancelled or expired generation cancels its vision calls too.
 */
final class VisionClient implements AutoCloseable {
    /** An image's embeddings {@code [tiles * tokensPerTile, width]} and the vision tier's key for them. */
    record EncodedImage(String key, int tiles, float[] rows) {
    }

    private final ManagedChannel channel;
    private final VisionServiceGrpc.VisionServiceStub stub;
    private final long timeoutMillis;
    private final DType wireDtype;

    /**
     * @param wireDtype BF16 (half the bytes) or F32 (the vision tower's exact output, for results identical to the
     *                  single-process engine)
     */
    VisionClient(ManagedChannel channel, long timeoutMillis, DType wireDtype) {
        this.channel = channel;
        this.stub = VisionServiceGrpc.newStub(channel);
        this.timeoutMillis = timeoutMillis;
        this.wireDtype = wireDtype;
    }

    CompletableFuture<EncodedImage> encode(byte[] image, TilingOptions tiling) {
        CompletableFuture<EncodedImage> result = new CompletableFuture<>();
        EncodeRequest request = EncodeRequest.newBuilder()
                .setImage(com.google.protobuf.ByteString.copyFrom(image))
                .setTiling(tiling)
                .setDtype(wireDtype)
                .build();
        stub.withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS).encode(request, new StreamObserver<>() {
            private float[] rows;
            private int tileRows;
            private int received;
            private String key;

            @Override
            public void onNext(TileEmbedding tile) {
                float[] values = WireTensors.decode(tile.getEmbedding());
                if (rows == null) {
                    tileRows = values.length;
                    rows = new float[tile.getTileCount() * tileRows];
                    key = tile.getImageKey();
                }
                if (tile.getTileIndex() != received || values.length != tileRows || tile.getTileIndex() >= tile.getTileCount()) {
                    onError(Status.INTERNAL.withDescription("vision tier sent tile " + tile.getTileIndex() + " of "
                            + tile.getTileCount() + " out of order or of the wrong size").asRuntimeException());
                    return;
                }
                System.arraycopy(values, 0, rows, received * tileRows, tileRows);
                received++;
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                if (rows == null || received * tileRows != rows.length) {
                    result.completeExceptionally(new StatusRuntimeException(Status.INTERNAL.withDescription(
                            "vision tier ended the stream after " + received + " tiles")));
                } else {
                    result.complete(new EncodedImage(key, received, rows));
                }
            }
        });
        return result;
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
