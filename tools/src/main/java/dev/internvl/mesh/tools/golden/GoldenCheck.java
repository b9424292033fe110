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

    public GoldenCheck(List<GoldenSuite> suites) {
        this.suites = suites;
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
            if (key.endsWith("_cases") && !handled.contains(key)) {
                for (var c : set.cases(key)) {
                    report.accept(CaseResult.failed(c.path("id").asText(key), "case kind '" + key + "' is not implemented"));
                }
            }
        });
        return new Summary(passed.get(), failed.get());
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: golden-check <golden-dir>");
            System.exit(2);
        }
        GoldenSet set = GoldenSet.open(Path.of(args[0]));
        Summary s = new GoldenCheck(allSuites()).run(set, System.out::println);
        System.out.println(s.passed() + " passed, " + s.failed() + " failed");
        System.exit(s.failed() == 0 ? 0 : 1);
    }
}
