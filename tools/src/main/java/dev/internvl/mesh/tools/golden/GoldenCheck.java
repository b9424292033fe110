package dev.internvl.mesh.tools.golden;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * {@code make golden GOLDEN=<dir>}: runs every case of a golden directory, one line per case with its worst error
 * against the tolerance, then {@code N passed, M failed}. Cases of a kind no suite handles count as failed.
 */
public final class GoldenCheck {
    private final List<GoldenSuite> suites;
    /** Whether a case kind none of the suites handles counts as failed (a full check) or is left out. */
    private final boolean everyKind;

    public GoldenCheck(List<GoldenSuite> suites) {
        this(suites, true);
    }

    public GoldenCheck(List<GoldenSuite> suites, boolean everyKind) {
        this.suites = suites;
        this.everyKind = everyKind;
    }

    public static List<GoldenSuite> allSuites() {
        return List.of(new TokenizerSuite(), new TemplateSuite(), new PreprocessSuite(),
                new VitTileSuite(), new VisionSuite(), new LlmSuite(), new MultimodalSuite());
    }

    public record Summary(int passed, int failed) {
    }

    public Summary run(GoldenSet set, Consumer<String> out) {
        AtomicInteger passed = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        Consumer<CaseResult> report = r -> {
            (r.passed() ? passed : failed).incrementAndGet();
            out.accept(r.line());
        };
        Set<String> handled = new HashSet<>();
        for (GoldenSuite suite : suites) {
            handled.addAll(suite.manifestKeys());
            suite.run(set, report);
        }
        set.manifest().fieldNames().forEachRemaining(key -> {
            if (everyKind && key.endsWith("_cases") && !handled.contains(key)) {
                for (var c : set.cases(key)) {
                    report.accept(CaseResult.failed(c.path("id").asText(key), "case kind '" + key + "' is not implemented"));
                }
            }
        });
        return new Summary(passed.get(), failed.get());
    }

    /** The model cases (text and multimodal) with the language model from {@code models}. */
    public static List<GoldenSuite> modelSuites(LanguageModels models) {
        return List.of(new LlmSuite(models), new MultimodalSuite(models));
    }

    /**
     * {@code golden-check <dir>}: every case. {@code golden-check --llm-shards N <dir>}: the model cases, with the
     * decoder layers in N layer-shard processes.
     */
    public static void main(String[] args) {
        boolean sharded = args.length == 3 && args[0].equals("--llm-shards");
        if (args.length != 1 && !sharded) {
            System.err.println("usage: golden-check [--llm-shards N] <golden-dir>");
            System.exit(2);
        }
        GoldenSet set = GoldenSet.open(Path.of(args[args.length - 1]));
        Summary s;
        if (sharded) {
            try (LanguageModels models = new ShardedLanguageModels(Integer.parseInt(args[1]))) {
                s = new GoldenCheck(modelSuites(models), false).run(set, System.out::println);
            }
        } else {
            s = new GoldenCheck(allSuites()).run(set, System.out::println);
        }
        System.out.println(s.passed() + " passed, " + s.failed() + " failed");
        System.exit(s.failed() == 0 ? 0 : 1);
    }
}
