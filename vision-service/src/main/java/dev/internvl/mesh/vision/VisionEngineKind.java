package dev.internvl.mesh.vision;

import dev.internvl.mesh.checkpoint.Checkpoint;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;

/** The engines {@code VISION_ENGINE} can name, each with how it loads a checkpoint. */
public enum VisionEngineKind {
    CPU(CpuVisionEngine::load);

    private final Function<Checkpoint, VisionEngine> loader;

    VisionEngineKind(Function<Checkpoint, VisionEngine> loader) {
        this.loader = loader;
    }

    public VisionEngine load(Checkpoint checkpoint) {
        return loader.apply(checkpoint);
    }

    /** The kind a setting names, case-insensitively; {@code variable} names the setting in the error. */
    public static VisionEngineKind parse(String variable, String value) {
        for (VisionEngineKind kind : values()) {
            if (kind.name().equalsIgnoreCase(value.strip())) {
                return kind;
            }
        }
        String known = Arrays.stream(values()).map(k -> k.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
        throw new IllegalArgumentException(variable + "=" + value + " is not an engine this build has; choose one of: " + known);
    }
}
