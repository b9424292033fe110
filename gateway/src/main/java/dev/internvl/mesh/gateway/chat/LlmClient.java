package dev.internvl.mesh.gateway.chat;

import com.google.protobuf.ByteString;
import dev.internvl.mesh.gateway.chat.ChatPlanner.PlannedImage;
import dev.internvl.mesh.proto.v1.GenerateRequest;
import dev.internvl.mesh.proto.v1.GenerateResponse;
import dev.internvl.mesh.proto.v1.GetModelInfoRequest;
import dev.internvl.mesh.proto.v1.ImageInput;
import dev.internvl.mesh.proto.v1.LlmServiceGrpc;
import dev.internvl.mesh.proto.v1.ModelInfo;
import dev.internvl.mesh.proto.v1.PromptSegment;
import dev.internvl.mesh.proto.v1.SamplingParams;
import dev.internvl.mesh.proto.v1.TilingOptions;
import dev.internvl.mesh.proto.v1.TokenIds;
import dev.internvl.mesh.prompt.Prompt;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's side of {@code LlmService}: a planned prompt goes out as text-id segments and image bytes (the
 * language tier has the vision tier encode them, so embeddings never pass through here); tokens come back as a
 * stream the caller can cancel.
 */
public final class LlmClient implements AutoCloseable {
    private final ManagedChannel channel;
    private final LlmServiceGrpc.LlmServiceStub stub;

    public LlmClient(ManagedChannel channel) {
        this.channel = channel;
        this.stub = LlmServiceGrpc.newStub(channel);
    }

    public ModelInfo modelInfo(long timeoutMillis) {
        return LlmServiceGrpc.newBlockingStub(channel).withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
                .getModelInfo(GetModelInfoRequest.getDefaultInstance());
    }

    /** Receives the raw stream of one generation. */
    public interface Stream {
        void onResponse(GenerateResponse response);

        void onError(Throwable error);

        void onCompleted();
    }

    /** Starts a generation; cancel it through the returned handle (a client that left, a deadline). */
    public Runnable generate(String requestId, Prompt prompt, List<PlannedImage> images, SamplingParams sampling,
                             long deadlineMillis, Stream stream) {
        GenerateRequest.Builder request = GenerateRequest.newBuilder().setRequestId(requestId).setSampling(sampling);
        for (Prompt.Segment s : prompt.segments()) {
            switch (s) {
                case Prompt.Text t -> request.addSegments(PromptSegment.newBuilder().setTokens(
                        TokenIds.newBuilder().addAllIds(Arrays.stream(t.ids()).boxed().toList())));
                case Prompt.Image img -> {
                    PlannedImage planned = images.get(img.index());
                    request.addSegments(PromptSegment.newBuilder().setImage(ImageInput.newBuilder()
                            .setImage(ByteString.copyFrom(planned.bytes()))
                            .setTiling(TilingOptions.newBuilder().setMinTiles(planned.minTiles()).setMaxTiles(planned.maxTiles()))
                            .setExpectedTiles(img.tiles())));
                }
            }
        }
        ClientCallStreamObserver<?>[] call = new ClientCallStreamObserver<?>[1];
        // A fresh context: the call must not inherit a server call's cancellation it does not belong to.
        Context.ROOT.run(() -> stub.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS).generate(request.build(),
                new ClientResponseObserver<GenerateRequest, GenerateResponse>() {
                    @Override
                    public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
                        call[0] = requestStream;
                    }

                    @Override
                    public void onNext(GenerateResponse value) {
                        stream.onResponse(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        stream.onError(t);
                    }

                    @Override
                    public void onCompleted() {
                        stream.onCompleted();
                    }
                }));
        return () -> call[0].cancel("the client went away", null);
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
