package dev.internvl.mesh.tools.golden;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** The outcome of one golden case: each measured quantity against its tolerance, plus any exact-match failures. */
public record CaseResult(String id, List<Metric> metrics, List<String> failures) {

    /** A measured worst error and the bound it must stay within. */
    public record Metric(String name, double worst, double tolerance) {
        public boolean ok() {
            return worst <= tolerance; // NaN fails
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s %.3g/%.3g%s", name, worst, tolerance, ok() ? "" : " EXCEEDED");
        }
    }

    public boolean passed() {
        return failures.isEmpty() && metrics.stream().allMatch(Metric::ok);
    }

    public static CaseResult failed(String id, String why) {
        return new CaseResult(id, List.of(), List.of(why));
    }

    public String line() {
        String detail = metrics.stream().map(Metric::toString).collect(Collectors.joining(", "));
        if (!failures.isEmpty()) {
            detail = (detail.isEmpty() ? "" : detail + "; ") + String.join("; ", failures);
        }
        return String.format(Locale.ROOT, "%s %s: %s", passed() ? "PASS" : "FAIL", id, detail.isEmpty() ? "ok" : detail);
    }
}
