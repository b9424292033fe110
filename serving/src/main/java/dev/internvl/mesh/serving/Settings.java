package dev.internvl.mesh.serving;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * A service's settings from environment variables (the twelve-factor way containers and {@code make run} pass
 * them), each with a default. A value that does not parse stops the process at start with the variable's name.
 */
public final class Settings {
    private final Map<String, String> env;

    public Settings(Map<String, String> env) {
        this.env = env;
    }

    public static Settings fromEnvironment() {
        return new Settings(System.getenv());
    }

    public Optional<String> string(String name) {
        String v = env.get(name);
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
    }

    public String string(String name, String fallback) {
        return string(name).orElse(fallback);
    }

    public int integer(String name, int fallback) {
        return string(name).map(v -> {
            try {
                return Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + "=" + v + " is not an integer");
            }
        }).orElse(fallback);
    }

    public long bytes(String name, long fallback) {
        return string(name).map(v -> parseBytes(name, v)).orElse(fallback);
    }

    /** Durations like {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}, or a bare number of milliseconds. */
    public Duration duration(String name, Duration fallback) {
        return string(name).map(v -> {
            var m = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)?").matcher(v.trim().toLowerCase());
            if (!m.matches()) {
                throw new IllegalArgumentException(name + "=" + v + " is not a duration (e.g. 500ms, 30s, 2m)");
            }
            double amount = Double.parseDouble(m.group(1));
            double millis = switch (m.group(2) == null ? "ms" : m.group(2)) {
                case "s" -> amount * 1_000;
                case "m" -> amount * 60_000;
                case "h" -> amount * 3_600_000;
                default -> amount;
            };
            return Duration.ofNanos(Math.round(millis * 1_000_000));
        }).orElse(fallback);
    }

    public Optional<Path> path(String name) {
        return string(name).map(Path::of);
    }

    /** {@code MODEL_DIR}, the hub model directory every tier reads; required. */
    public Path modelDir() {
        return path("MODEL_DIR").orElseThrow(() -> new IllegalArgumentException(
                "MODEL_DIR is not set: point it at a hub InternVL 2.5 model directory (config.json and the safetensors weights)"));
    }

    /** Sizes like {@code 512m}, {@code 4g}, {@code 1048576}. */
    static long parseBytes(String name, String v) {
        String s = v.toLowerCase().replace("ib", "").replace("b", "");
        long unit = 1;
        char last = s.isEmpty() ? ' ' : s.charAt(s.length() - 1);
        switch (last) {
            case 'k' -> unit = 1L << 10;
            case 'm' -> unit = 1L << 20;
            case 'g' -> unit = 1L << 30;
            default -> {
            }
        }
        try {
            return Long.parseLong(unit == 1 ? s : s.substring(0, s.length() - 1)) * unit;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "=" + v + " is not a size (e.g. 512m, 4g)");
        }
    }
}
