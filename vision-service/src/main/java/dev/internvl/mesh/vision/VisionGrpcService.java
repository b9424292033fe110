package dev.internvl.mesh.vision;

import dev.internvl.mesh.checkpoint.ModelConfig;
import dev.internvl.mesh.image.ImageException;
import dev.internvl.mesh.image.TileGrid;
import dev.internvl.mesh.proto.v1.DType;
import dev.internvl.mesh.proto.v1.EncodeRequest;
import dev.internvl.mesh.proto.v1.GetModelInfoRequest;
import dev.internvl.mesh.proto.v1.ModelInfo;
import dev.internvl.mesh.proto.v1.TileEmbedding;
import dev.internvl.mesh.proto.v1.TilingOptions;
import dev.internvl.mesh.proto.v1.VisionServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.RejectedExecutionException;

/**
 * {@code internvl.mesh.v1.VisionService} on a {@link VisionPipeline}: checks and translates requests, streams the
 * tiles back in the asked dtype, and maps failures to status codes. Until {@link #serve} hands it the pipeline (the
 * model is still loading) {@code Encode} answers UNAVAILABLE.
 */
public final class VisionGrpcService extends VisionServiceGrpc.VisionServiceImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(VisionGrpcService.class);

    private final ModelInfo modelInfo;
    private final Tiling defaultTiling;
    private volatile VisionPipeline pipeline;

    public VisionGrpcService(String modelName, ModelConfig config) {
        this.defaultTiling = new Tiling(config.minDynamicPatch(), config.maxDynamicPatch(), config.useThumbnail());
        this.modelInfo = ModelInfo.newBuilder()
                .setModelName(modelName)
                .setLlmHiddenSize(config.llm().hiddenSize())
                .setVocabSize(config.llm().vocabSize())
                .setMaxContextTokens(config.llm().maxPositionEmbeddings())
                .setImageTokensPerTile(config.numImageTokens())
                .setTileSize(config.vision().imageSize())
                .setDefaultTiling(TilingOptions.newBuilder()
                        .setMinTiles(defaultTiling.minTiles())
                        .setMaxTiles(defaultTiling.maxTiles())
                        .setUseThumbnail(defaultTiling.thumbnail()))
                .build();
    }

    /** Starts encoding with {@code ready}: the model is loaded and warm. */
    public void serve(VisionPipeline ready) {
        this.pipeline = ready;
    }

    @Override
    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> responses) {
        responses.onNext(modelInfo);
        responses.onCompleted();
    }

    @Override
    public void encode(EncodeRequest request, StreamObserver<TileEmbedding> responses) {
        var call = (ServerCallStreamObserver<TileEmbedding>) responses;
        VisionPipeline ready = pipeline;
        if (ready == null) {
            call.onError(Status.UNAVAILABLE.withDescription("the vision model is still loading").asRuntimeException());
            return;
        }
        Tiling tiling;
        DType dtype;
        try {
            if (request.getImage().isEmpty()) {
                throw new IllegalArgumentException("image: must not be empty");
            }
            tiling = tiling(request.getTiling());
            dtype = dtype(request);
        } catch (IllegalArgumentException e) {
            call.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        // Registered before any work starts, so the handler and the first tile never race.
        Cancellation cancellation = new Cancellation();
        call.setOnCancelHandler(cancellation::cancel);
        ready.encode(request.getImage().toByteArray(), tiling, new StreamingSink(call, dtype), cancellation);
    }

    /** The request's tiling over the model's defaults; errors name the field at fault. */
    private Tiling tiling(TilingOptions options) {
        if (options.hasMinTiles()) {
            checkTileCount("tiling.min_tiles", options.getMinTiles());
        }
        if (options.hasMaxTiles()) {
            checkTileCount("tiling.max_tiles", options.getMaxTiles());
        }
        int min = options.hasMinTiles() ? options.getMinTiles() : defaultTiling.minTiles();
        int max = options.hasMaxTiles() ? options.getMaxTiles() : defaultTiling.maxTiles();
        if (min > max) {
            throw new IllegalArgumentException("tiling.min_tiles (" + min + (options.hasMinTiles() ? "" : ", the model's default")
                    + ") must not exceed tiling.max_tiles (" + max + (options.hasMaxTiles() ? "" : ", the model's default") + ")");
        }
        boolean thumbnail = options.hasUseThumbnail() ? options.getUseThumbnail() : defaultTiling.thumbnail();
        return new Tiling(min, max, thumbnail);
    }

    private static void checkTileCount(String field, int value) {
        if (value < 1 || value > TileGrid.MAX_TILES) {
            throw new IllegalArgumentException(field + " must be between 1 and " + TileGrid.MAX_TILES + ", got " + value);
        }
    }

    private static DType dtype(EncodeRequest request) {
        return switch (request.getDtype()) {
            case DTYPE_UNSPECIFIED, DTYPE_BF16 -> DType.DTYPE_BF16;
            case DTYPE_F16 -> DType.DTYPE_F16;
            case DTYPE_F32 -> DType.DTYPE_F32;
            case UNRECOGNIZED -> throw new IllegalArgumentException("dtype: unknown value " + request.getDtypeValue());
        };
    }

    /** One call's tiles onto the wire. */
    private final class StreamingSink implements TileSink {
        private final ServerCallStreamObserver<TileEmbedding> call;
        private final DType dtype;

        StreamingSink(ServerCallStreamObserver<TileEmbedding> call, DType dtype) {
            this.call = call;
            this.dtype = dtype;
        }

        @Override
        public void tile(ImageKey key, EncodedTile tile) {
            int cols = modelInfo.getLlmHiddenSize();
            call.onNext(TileEmbedding.newBuilder()
                    .setImageKey(key.toString())
                    .setTileIndex(tile.index())
                    .setTileCount(tile.count())
                    .setThumbnail(tile.thumbnail())
                    .setEmbedding(WireTensors.matrix(tile.embedding(), tile.embedding().length / cols, cols, dtype))
                    .build());
        }

        @Override
        public void completed() {
            call.onCompleted();
        }

        @Override
        public void failed(Throwable error) {
            Status status = switch (error) {
                case ImageException e -> Status.INVALID_ARGUMENT.withDescription(e.getMessage());
                case RejectedExecutionException e -> Status.UNAVAILABLE.withDescription(e.getMessage());
                default -> {
                    LOG.error("encoding an image failed", error);
                    yield Status.INTERNAL.withDescription("the vision encoder failed: " + error);
                }
            };
            call.onError(status.asRuntimeException());
        }
    }
}
