package dev.internvl.mesh.e2e;

import dev.internvl.mesh.engine.EmbeddedModel;
import dev.internvl.mesh.engine.GenerationListener;
import dev.internvl.mesh.prompt.Turn;
import dev.internvl.mesh.sampling.FinishReason;
import dev.internvl.mesh.sampling.SamplingParams;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The single-process engine's greedy answer: what the mesh must return for the same conversation. */
final class EmbeddedReference {
    record Answer(String text, String finishReason, int promptTokens) {
    }

    private EmbeddedReference() {
    }

    static Answer greedy(EmbeddedModel model, List<Turn> history, String question, List<EmbeddedModel.EncodedImage> images,
                         int maxTokens) throws Exception {
        StringBuilder text = new StringBuilder();
        CompletableFuture<Answer> done = new CompletableFuture<>();
        model.chat(null, history, question, images, SamplingParams.builder().temperature(0).maxNewTokens(maxTokens).build(),
                new GenerationListener() {
                    @Override
                    public void onToken(GeneratedToken token) {
                        text.append(token.text());
                    }

                    @Override
                    public void onFinished(FinishReason reason, Usage usage) {
                        done.complete(new Answer(text.toString(), reason.apiValue(), usage.promptTokens()));
                    }

                    @Override
                    public void onFailed(Throwable error) {
                        done.completeExceptionally(error);
                    }
                });
        return done.get(120, TimeUnit.SECONDS);
    }
}
