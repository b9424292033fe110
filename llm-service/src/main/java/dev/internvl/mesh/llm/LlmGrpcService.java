package dev.internvl.mesh.llm;

import dev.internvl.mesh.engine.EngineOverloadedException;
import dev.internvl.mesh.engine.GenerationEngine;
import dev.internvl.mesh.engine.GenerationListener;
import dev.internvl.mesh.engine.GenerationRequest;
import dev.internvl.mesh.image.ImageKeys;
import dev.internvl.mesh.proto.v1.FinishReason;
import dev.internvl.mesh.proto.v1.GenerateRequest;
import dev.internvl.mesh.proto.v1.GenerateResponse;
import dev.internvl.mesh.proto.v1.GeneratedToken;
import dev.internvl.mesh.proto.v1.GetModelInfoRequest;
import dev.internvl.mesh.proto.v1.ImageInput;
import dev.internvl.mesh.proto.v1.LlmServiceGrpc;
import dev.internvl.mesh.proto.v1.ModelInfo;
import dev.internvl.mesh.proto.v1.PromptSegment;
import dev.internvl.mesh.proto.v1.TokenLogprob;
import dev.internvl.mesh.proto.v1.Usage;
import dev.internvl.mesh.sampling.SamplingParams;
import dev.internvl.mesh.serving.FailedTier;
import dev.internvl.mesh.serving.WireTensors;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * {@code LlmService} on the wire: checks the request, has the vision tier encode its images, lays out the prompt
 * and hands it to the {@link GenerationEngine}, streaming each token back as it comes. The engine does the rest.
 */
final class LlmGrpcService extends LlmServiceGrpc.LlmServiceImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(LlmGrpcService.class);

    private final GenerationEngine engine;
    private final ModelTokenizer tokenizer;
    private final VisionClient vision;
    private final ModelInfo info;
    private final LlmMetrics metrics;
    /** Why the tier cannot run a request now (a layer shard is down), or null. */
    private final java.util.function.Supplier<StatusRuntimeException> unavailable;

    LlmGrpcService(GenerationEngine engine, ModelTokenizer tokenizer, VisionClient vision, ModelInfo info, LlmMetrics metrics,
                   java.util.function.Supplier<StatusRuntimeException> unavailable) {
        this.engine = engine;
        this.unavailable = unavailable;
        this.tokenizer = tokenizer;
        this.vision = vision;
        this.info = info;
        this.metrics = metrics;
    }

    @Override
    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> response) {
        response.onNext(info);
        response.onCompleted();
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> plainResponse) {
        ServerCallStreamObserver<GenerateResponse> response = (ServerCallStreamObserver<GenerateResponse>) plainResponse;
        Call call = new Call(request, response);
        try {
            StatusRuntimeException down = unavailable.get();
            if (down != null) {
                throw down;
            }
            call.start();
        } catch (RuntimeException e) {
            call.fail(e);
        }
    }

    /** One Generate call from start to its single final status. */
    private final class Call implements GenerationListener {
        private final GenerateRequest request;
        private final ServerCallStreamObserver<GenerateResponse> response;
        private final long startNanos = System.nanoTime();
        private long firstTokenNanos;
        private long lastTokenNanos;
        private int outputTokens;
        private volatile GenerationEngine.Handle handle;
        private volatile boolean cancelled;
        private boolean closed;

        Call(GenerateRequest request, ServerCallStreamObserver<GenerateResponse> response) {
            this.request = request;
            this.response = response;
        }

        void start() {
            response.setOnCancelHandler(() -> {
                cancelled = true;
                GenerationEngine.Handle h = handle;
                if (h != null) {
                    h.cancel();
                }
                metrics.requests.labelValues("CANCELLED").inc();
            });
            if (request.getSegmentsCount() == 0) {
                throw new IllegalArgumentException("the prompt has no segments");
            }
            SamplingParams sampling = SamplingMapper.map(request.getSampling());
            List<CompletableFuture<VisionClient.EncodedImage>> images = new ArrayList<>();
            for (int i = 0; i < request.getSegmentsCount(); i++) {
                PromptSegment s = request.getSegments(i);
                if (s.hasImage()) {
                    images.add(image(i, s.getImage()));
                } else if (!s.hasTokens()) {
                    throw new IllegalArgumentException("segment " + i + " has neither tokens nor an image");
                }
            }
            CompletableFuture.allOf(images.toArray(CompletableFuture[]::new)).whenComplete((ignored, error) -> {
                if (error != null) {
                    fail(error instanceof CompletionException ? error.getCause() : error);
                    return;
                }
                try {
                    submit(sampling, images.stream().map(CompletableFuture::join).toList());
                } catch (RuntimeException e) {
                    fail(e);
                }
            });
        }

        private CompletableFuture<VisionClient.EncodedImage> image(int segment, ImageInput input) {
            if (input.hasEmbeddings()) {
                float[] rows = WireTensors.decode(input.getEmbeddings());
                int perTile = info.getImageTokensPerTile() * info.getLlmHiddenSize();
                if (rows.length == 0 || rows.length % perTile != 0) {
                    throw new IllegalArgumentException("segment " + segment + ": embeddings must be [tiles * "
                            + info.getImageTokensPerTile() + ", " + info.getLlmHiddenSize() + "], got shape "
                            + input.getEmbeddings().getShapeList());
                }
                byte[] raw = input.getEmbeddings().getData().toByteArray();
                return CompletableFuture.completedFuture(new VisionClient.EncodedImage("embeddings:" + ImageKeys.sha256Hex(raw),
                        rows.length / perTile, rows));
            }
            if (input.getImage().isEmpty()) {
                throw new IllegalArgumentException("segment " + segment + ": the image is empty");
            }
            return vision.encode(input.getImage().toByteArray(), input.getTiling()).thenApply(img -> {
                if (input.hasExpectedTiles() && input.getExpectedTiles() != img.tiles()) {
                    throw new IllegalArgumentException("segment " + segment + ": the prompt was planned with "
                            + input.getExpectedTiles() + " tiles, the vision tier cut the image into " + img.tiles());
                }
                return img;
            }).exceptionally(e -> {
                Throwable cause = e instanceof CompletionException ? e.getCause() : e;
                throw new CompletionException(visionError(segment, cause));
            });
        }

        private void submit(SamplingParams sampling, List<VisionClient.EncodedImage> images) {
            if (cancelled) {
                return;
            }
            PromptAssembler prompt = new PromptAssembler(tokenizer.specialTokens(), info.getLlmHiddenSize());
            int image = 0;
            for (int i = 0; i < request.getSegmentsCount(); i++) {
                PromptSegment s = request.getSegments(i);
                if (s.hasImage()) {
                    VisionClient.EncodedImage img = images.get(image++);
                    prompt.image(img.key(), img.rows());
                } else {
                    prompt.text(checkedIds(i, s.getTokens().getIdsList()));
                }
            }
            handle = engine.submit(new GenerationRequest(request.getRequestId(), prompt.ids(), prompt.splice(),
                    prompt.imageRefs(), sampling), this);
            if (cancelled) {
                handle.cancel();
            }
        }

        private int[] checkedIds(int segment, List<Integer> ids) {
            int[] out = new int[ids.size()];
            var special = tokenizer.specialTokens();
            for (int i = 0; i < out.length; i++) {
                int id = ids.get(i);
                if (id < 0 || id >= info.getVocabSize()) {
                    throw new IllegalArgumentException("segment " + segment + ": token id " + id + " is outside the vocabulary of " + info.getVocabSize());
                }
                if (id == special.imgContext() || id == special.imgStart() || id == special.imgEnd()) {
                    throw new IllegalArgumentException("segment " + segment + ": token id " + id
                            + " is an image token; images must come as image segments");
                }
                out[i] = id;
            }
            return out;
        }

        @Override
        public void onToken(GeneratedToken token) {
            long now = System.nanoTime();
            GenerateResponse.Builder r = GenerateResponse.newBuilder().setText(token.text());
            if (token.tokenId() != GeneratedToken.TEXT_ONLY) {
                if (firstTokenNanos == 0) {
                    firstTokenNanos = now;
                    metrics.timeToFirstToken.observe((now - startNanos) / 1e9);
                }
                lastTokenNanos = now;
                outputTokens++;
                var t = dev.internvl.mesh.proto.v1.GeneratedToken.newBuilder().setTokenId(token.tokenId());
                if (request.getSampling().getLogprobs()) {
                    t.setLogprob((float) token.logprob());
                    for (var alt : token.topLogprobs()) {
                        t.addTopLogprobs(TokenLogprob.newBuilder().setTokenId(alt.tokenId())
                                .setToken(tokenizer.decode(new int[]{alt.tokenId()})).setLogprob((float) alt.logprob()));
                    }
                }
                r.addTokens(t);
            }
            if (!cancelled) {
                response.onNext(r.build());
            }
        }

        @Override
        public void onFinished(dev.internvl.mesh.sampling.FinishReason reason, Usage usage) {
            metrics.promptTokens.inc(usage.promptTokens());
            metrics.cachedPromptTokens.inc(usage.cachedPromptTokens());
            metrics.generationTokens.inc(usage.completionTokens());
            if (outputTokens > 1) {
                metrics.timePerOutputToken.observe((lastTokenNanos - firstTokenNanos) / 1e9 / (outputTokens - 1));
            }
            metrics.e2eLatency.observe((System.nanoTime() - startNanos) / 1e9);
            if (cancelled) {
                return;
            }
            response.onNext(GenerateResponse.newBuilder()
                    .setFinishReason(reason == dev.internvl.mesh.sampling.FinishReason.STOP ? FinishReason.FINISH_REASON_STOP : FinishReason.FINISH_REASON_LENGTH)
                    .setUsage(dev.internvl.mesh.proto.v1.Usage.newBuilder().setPromptTokens(usage.promptTokens())
                            .setCompletionTokens(usage.completionTokens()).setCachedPromptTokens(usage.cachedPromptTokens()))
                    .build());
            close(Status.OK);
        }

        @Override
        public void onFailed(Throwable error) {
            fail(error);
        }

        void fail(Throwable error) {
            io.grpc.Metadata trailers = error instanceof StatusRuntimeException s && s.getTrailers() != null ? s.getTrailers() : new io.grpc.Metadata();
            Status status = switch (error) {
                case StatusRuntimeException s -> s.getStatus();
                case IllegalArgumentException e -> Status.INVALID_ARGUMENT.withDescription(e.getMessage());
                case EngineOverloadedException e -> Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage());
                default -> {
                    LOG.error("generation {} failed", request.getRequestId(), error);
                    yield Status.INTERNAL.withDescription("generation failed: " + error);
                }
            };
            if (!cancelled) {
                close(status, trailers);
            }
        }

        private void close(Status status) {
            close(status, new io.grpc.Metadata());
        }

        private synchronized void close(Status status, io.grpc.Metadata trailers) {
            if (closed) {
                return;
            }
            closed = true;
            metrics.requests.labelValues(status.getCode().name()).inc();
            if (status.isOk()) {
                response.onCompleted();
            } else {
                response.onError(status.asRuntimeException(trailers));
            }
        }
    }

    /** A vision-tier failure as this call's status: the image's own fault stays INVALID_ARGUMENT. */
    private static StatusRuntimeException visionError(int segment, Throwable cause) {
        if (cause instanceof StatusRuntimeException s) {
            Status.Code code = s.getStatus().getCode();
            if (code == Status.Code.INVALID_ARGUMENT || code == Status.Code.RESOURCE_EXHAUSTED) {
                return s.getStatus().withDescription("segment " + segment + ": " + s.getStatus().getDescription()).asRuntimeException();
            }
            if (code == Status.Code.CANCELLED) {
                return s;
            }
            return FailedTier.mark(Status.UNAVAILABLE.withDescription("the vision tier could not encode the image of segment " + segment
                    + ": " + code + (s.getStatus().getDescription() == null ? "" : " " + s.getStatus().getDescription())), FailedTier.VISION);
        }
        if (cause instanceof IllegalArgumentException e) {
            return Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        }
        return Status.INTERNAL.withDescription("segment " + segment + ": " + cause).asRuntimeException();
    }
}
