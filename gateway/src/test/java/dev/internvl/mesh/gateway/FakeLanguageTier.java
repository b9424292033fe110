package dev.internvl.mesh.gateway;

import dev.internvl.mesh.proto.v1.FinishReason;
import dev.internvl.mesh.proto.v1.GenerateRequest;
import dev.internvl.mesh.proto.v1.GenerateResponse;
import dev.internvl.mesh.proto.v1.GeneratedToken;
import dev.internvl.mesh.proto.v1.LlmServiceGrpc;
import dev.internvl.mesh.proto.v1.PromptSegment;
import dev.internvl.mesh.proto.v1.TokenLogprob;
import dev.internvl.mesh.proto.v1.Usage;
import dev.internvl.mesh.tokenizer.ModelTokenizer;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A stand-in for the language tier on a loopback port: {@code Generate} streams a deterministic answer and every
 * request is kept for the test to inspect. What it does depends on the last user message of the prompt:
 * <ul>
 *   <li>containing {@value #FAIL}: one delta, then the call fails with INTERNAL;</li>
 *   <li>containing {@value #HOLD}: one delta, then it waits for {@link #releaseHeld()} or the call's cancellation;</li>
 *   <li>otherwise: {@code Echo: <that message> #<digest of the whole prompt>}, word by word.</li>
 * </ul>
 * The digest covers every token id and image byte, so equal answers mean equal prompts.
 */
final class FakeLanguageTier implements AutoCloseable {
    static final String FAIL = "[fail]";
    static final String HOLD = "[hold]";
    private static final String USER_TURN = "<|im_start|>user\n";

    private final ModelTokenizer tokenizer;
    private final List<GenerateRequest> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger holding = new AtomicInteger();
    private final AtomicInteger cancelled = new AtomicInteger();
    private volatile CountDownLatch gate = new CountDownLatch(1);
    private final Server server;

    FakeLanguageTier(ModelTokenizer tokenizer) throws IOException {
        this.tokenizer = tokenizer;
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .maxInboundMessageSize(64 << 20)
                .addService(new Service())
                .build()
                .start();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    List<GenerateRequest> requests() {
        return List.copyOf(requests);
    }

    GenerateRequest lastRequest() {
        return requests.getLast();
    }

    /** Lets every held generation finish; generations held later wait for the next call. */
    void releaseHeld() {
        CountDownLatch released = gate;
        gate = new CountDownLatch(1);
        released.countDown();
    }

    void awaitHolding(int count) throws InterruptedException {
        await(holding::get, count, "generations holding");
    }

    void awaitCancelled(int count) throws InterruptedException {
        await(cancelled::get, count, "cancelled generations");
    }

    int cancelled() {
        return cancelled.get();
    }

    /** The answer this double gives to a prompt that neither fails nor holds. */
    String answerTo(GenerateRequest request) {
        return String.join("", words(request));
    }

    /** The prompt's text with each image as {@code [image]}, for assertions and for picking the behaviour. */
    String promptText(GenerateRequest request) {
        StringBuilder text = new StringBuilder();
        for (PromptSegment segment : request.getSegmentsList()) {
            if (segment.hasTokens()) {
                text.append(tokenizer.decode(segment.getTokens().getIdsList().stream().mapToInt(Integer::intValue).toArray(), false));
            } else {
                text.append("[image]");
            }
        }
        return text.toString();
    }

    private String lastUserMessage(GenerateRequest request) {
        String prompt = promptText(request);
        String last = prompt.substring(prompt.lastIndexOf(USER_TURN) + USER_TURN.length());
        return last.substring(0, last.indexOf("<|im_end|>"));
    }

    private List<String> words(GenerateRequest request) {
        String answer = "Echo: " + lastUserMessage(request).replace("[image]\n", "").replace('\n', ' ') + " #" + digest(request);
        return List.of(answer.split("(?<= )"));
    }

    private static String digest(GenerateRequest request) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (PromptSegment segment : request.getSegmentsList()) {
                if (segment.hasTokens()) {
                    segment.getTokens().getIdsList().forEach(id -> sha.update(Integer.toString(id).getBytes()));
                } else {
                    sha.update(segment.getImage().getImage().toByteArray());
                    sha.update(segment.getImage().getTiling().toByteArray());
                }
                sha.update((byte) ';');
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void await(IntSupplier value, int count, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (value.getAsInt() < count) {
            if (System.nanoTime() > deadline) {
                fail("expected " + count + " " + what + ", saw " + value.getAsInt());
            }
            Thread.sleep(10);
        }
    }

    @Override
    public void close() {
        releaseHeld();
        server.shutdownNow();
    }

    private final class Service extends LlmServiceGrpc.LlmServiceImplBase {
        @Override
        public void generate(GenerateRequest request, StreamObserver<GenerateResponse> responses) {
            requests.add(request);
            ServerCallStreamObserver<GenerateResponse> call = (ServerCallStreamObserver<GenerateResponse>) responses;
            call.setOnCancelHandler(cancelled::incrementAndGet);
            String message = lastUserMessage(request);
            List<String> words = words(request);
            if (message.contains(FAIL)) {
                responses.onNext(delta(request, 0, words.getFirst()));
                responses.onError(Status.INTERNAL.withDescription("the double was told to fail").asRuntimeException());
                return;
            }
            if (message.contains(HOLD)) {
                CountDownLatch released = gate;
                responses.onNext(delta(request, 0, words.getFirst()));
                holding.incrementAndGet();
                try {
                    while (!released.await(10, TimeUnit.MILLISECONDS)) {
                        if (call.isCancelled()) {
                            return;
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } finally {
                    holding.decrementAndGet();
                }
                for (int i = 1; i < words.size(); i++) {
                    responses.onNext(delta(request, i, words.get(i)));
                }
                finish(request, responses, words.size());
                return;
            }
            for (int i = 0; i < words.size(); i++) {
                responses.onNext(delta(request, i, words.get(i)));
            }
            finish(request, responses, words.size());
        }

        /**
         * The {@code index}th word as one token. With log-probabilities asked for, made-up ones that differ by
         * position: token id {@code 100 + index}, log-probability {@code -0.25 * (index + 1)}, and the alternatives
         * {@code alt<j>} (id {@code 1000 + j}) at {@code -1 - j}.
         */
        private static GenerateResponse delta(GenerateRequest request, int index, String text) {
            GeneratedToken.Builder token = GeneratedToken.newBuilder().setTokenId(1);
            if (request.getSampling().getLogprobs()) {
                token.setTokenId(100 + index).setLogprob(-0.25f * (index + 1));
                for (int j = 0; j < request.getSampling().getTopLogprobs(); j++) {
                    token.addTopLogprobs(TokenLogprob.newBuilder().setTokenId(1000 + j).setToken("alt" + j).setLogprob(-1f - j));
                }
            }
            return GenerateResponse.newBuilder().setText(text).addTokens(token).build();
        }

        private static void finish(GenerateRequest request, StreamObserver<GenerateResponse> responses, int completionTokens) {
            int promptTokens = request.getSegmentsList().stream()
                    .mapToInt(s -> s.hasTokens() ? s.getTokens().getIdsCount() : 256 * s.getImage().getExpectedTiles())
                    .sum();
            responses.onNext(GenerateResponse.newBuilder().setFinishReason(FinishReason.FINISH_REASON_STOP)
                    .setUsage(Usage.newBuilder().setPromptTokens(promptTokens).setCompletionTokens(completionTokens)).build());
            responses.onCompleted();
        }
    }
}
