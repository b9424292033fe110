package dev.internvl.mesh.tools.golden;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Collects the metrics and exact-match checks of one case while a suite compares its outputs. */
public final class CaseBuilder {
    private final String id;
    private final List<CaseResult.Metric> metrics = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();

    public CaseBuilder(String id) {
        this.id = id;
    }

    /** Records max |actual - expected| under {@code name}; a length mismatch is a failure of its own. */
    public CaseBuilder maxAbs(String name, float[] actual, float[] expected, double tolerance) {
        if (actual.length != expected.length) {
            failures.add(name + ": " + actual.length + " values, expected " + expected.length);
            return this;
        }
        metrics.add(new CaseResult.Metric(name, maxAbsDiff(actual, expected), tolerance));
        return this;
    }

    public CaseBuilder metric(String name, double worst, double tolerance) {
        metrics.add(new CaseResult.Metric(name, worst, tolerance));
        return this;
    }

    public CaseBuilder exact(String name, int[] actual, int[] expected) {
        if (!Arrays.equals(actual, expected)) {
            failures.add(name + " differ: got " + abbreviate(actual) + ", expected " + abbreviate(expected));
        }
        return this;
    }

    public CaseBuilder exact(String name, Object actual, Object expected) {
        if (!actual.equals(expected)) {
            failures.add(name + " differ: got " + abbreviate(actual.toString()) + ", expected " + abbreviate(expected.toString()));
        }
        return this;
    }

    public CaseBuilder fail(String why) {
        failures.add(why);
        return this;
    }

    public CaseResult build() {
        return new CaseResult(id, List.copyOf(metrics), List.copyOf(failures));
    }

    public static double maxAbsDiff(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (!(d <= worst)) { // keeps NaN
                worst = d;
            }
        }
        return worst;
    }

    private static String abbreviate(int[] ids) {
        return abbreviate(Arrays.toString(ids));
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
