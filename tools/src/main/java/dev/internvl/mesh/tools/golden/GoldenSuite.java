package dev.internvl.mesh.tools.golden;

import java.util.List;
import java.util.function.Consumer;

/** Checks one kind of golden case. */
public interface GoldenSuite {
    /** The manifest lists this suite runs (e.g. {@code preprocess_cases}); empty for suites with their own files. */
    List<String> manifestKeys();

    /**
     * Runs every case of this kind that {@code set} holds, reporting each as it finishes. A case that throws is
     * reported as failed by the suite itself, so one broken case never hides the others.
     */
    void run(GoldenSet set, Consumer<CaseResult> report);
}
