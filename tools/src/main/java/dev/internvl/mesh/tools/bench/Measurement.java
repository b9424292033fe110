package dev.internvl.mesh.tools.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** Repeated measurements of one rate: the best is reported, with the spread, since this VM is noisy. */
public final class Measurement {
    private final List<Double> values = new ArrayList<>();

    public void add(double value) {
        values.add(value);
    }

    public List<Double> values() {
        return List.copyOf(values);
    }

    public double best() {
        return Collections.max(values);
    }

    public double worst() {
        return Collections.min(values);
    }

    /** (best - worst) / best. */
    public double spread() {
        return (best() - worst()) / best();
    }

    public String describe(double scale, String unit) {
        return String.format(Locale.ROOT, "%.1f %s (best of %d, spread %.0f%%)", best() / scale, unit, values.size(), 100 * spread());
    }
}
