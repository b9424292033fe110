package dev.internvl.mesh.tools.cli;

import dev.internvl.mesh.engine.EmbeddedModel;
import dev.internvl.mesh.engine.EngineSettings;
import dev.internvl.mesh.engine.GenerationListener;
import dev.internvl.mesh.prompt.Turn;
import dev.internvl.mesh.sampling.FinishReason;
import dev.internvl.mesh.sampling.SamplingParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/**
 * {@code internvl chat}: the whole model in this process. The answer alone goes to stdout as it is generated; logs
 * and prefill progress go to stderr. Without a question it reads questions line by line (multi-turn).
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Ask the model about images in one process; without a question, an interactive multi-turn chat.")
final class ChatCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "a hub InternVL 2.5 model directory")
    Path model;

    @Option(names = "--image", description = "an image file; repeat for several (they go to the first turn, in order)")
    List<Path> images = new ArrayList<>();

    @Option(names = "--max-tiles", description = "most 448 px tiles per image (default: the model's max_dynamic_patch)")
    Integer maxTiles;

    @Option(names = "--max-new-tokens", defaultValue = "1024")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 for greedy decoding (default)")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1")
    double topP;

    @Option(names = "--seed", description = "makes sampling reproducible")
    Long seed;

    @Option(names = "--system", description = "system message (default: the model's own)")
    String system;

    @Option(names = "--kv-cache", defaultValue = "256m", description = "memory for the KV cache (e.g. 512m, 2g)")
    String kvCache;

    @Parameters(arity = "0..1", description = "the question; omit it for an interactive chat")
    String question;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        SamplingParams.Builder sampling = SamplingParams.builder().temperature(temperature).topP(topP).maxNewTokens(maxNewTokens);
        if (seed != null) {
            sampling.seed(seed);
        }
        long start = System.nanoTime();
        try (EmbeddedModel m = EmbeddedModel.open(model, Sizes.parse("--kv-cache", kvCache), EngineSettings.defaults())) {
            System.err.printf("loaded %s in %.1f s%n", model, (System.nanoTime() - start) / 1e9);
            int min = m.config().minDynamicPatch();
            int max = maxTiles != null ? maxTiles : m.config().maxDynamicPatch();
            List<EmbeddedModel.EncodedImage> encoded = new ArrayList<>();
            for (Path image : images) {
                long t = System.nanoTime();
                EmbeddedModel.EncodedImage e = m.encode(Files.readAllBytes(image), Math.min(min, max), max);
                System.err.printf("%s: %d tiles encoded in %.1f s%n", image, e.tiles(), (System.nanoTime() - t) / 1e9);
                encoded.add(e);
            }
            if (question != null) {
                ask(m, out, new ArrayList<>(), question, encoded, sampling.build());
                return 0;
            }
            List<Turn> history = new ArrayList<>();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            System.err.println("Ask a question (an empty line or end of input quits).");
            for (String line; (line = prompt(in)) != null && !line.isBlank(); ) {
                String answer = ask(m, out, history, line, history.isEmpty() ? encoded : List.of(), sampling.build());
                history.add(new Turn(m.questionForHistory(line, history, history.isEmpty() ? encoded.size() : 0), answer));
            }
            return 0;
        }
    }

    private static String prompt(BufferedReader in) throws java.io.IOException {
        System.err.print("> ");
        return in.readLine();
    }

    /** Streams one answer to {@code out} and returns it. */
    private static String ask(EmbeddedModel m, PrintStream out, List<Turn> history, String question,
                              List<EmbeddedModel.EncodedImage> images, SamplingParams sampling) throws Exception {
        StringBuilder answer = new StringBuilder();
        CompletableFuture<FinishReason> done = new CompletableFuture<>();
        long start = System.nanoTime();
        int[] generated = new int[1];
        m.chat(null, history, question, images, sampling, new GenerationListener() {
            @Override
            public void onPrefillProgress(int computed, int total) {
                System.err.printf("\rprefill %d/%d tokens", computed, total);
                if (computed == total) {
                    System.err.println();
                }
            }

            @Override
            public void onToken(GeneratedToken token) {
                generated[0]++;
                answer.append(token.text());
                out.print(token.text());
                out.flush();
            }

            @Override
            public void onFinished(FinishReason reason, Usage usage) {
                done.complete(reason);
            }

            @Override
            public void onFailed(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        FinishReason reason = done.get();
        out.println();
        double seconds = (System.nanoTime() - start) / 1e9;
        System.err.printf("[%s after %d tokens, %.1f s]%n", reason.apiValue(), generated[0], seconds);
        return answer.toString();
    }
}
