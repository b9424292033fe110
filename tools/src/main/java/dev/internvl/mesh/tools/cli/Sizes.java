package dev.internvl.mesh.tools.cli;

import picocli.CommandLine;

/** Byte sizes on the command line: {@code 512m}, {@code 2g}, {@code 1048576}. */
final class Sizes {
    private Sizes() {
    }

    static long parse(String option, String value) {
        String v = value.trim().toLowerCase();
        long unit = switch (v.isEmpty() ? ' ' : v.charAt(v.length() - 1)) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            default -> 1;
        };
        try {
            return Long.parseLong(unit == 1 ? v : v.substring(0, v.length() - 1)) * unit;
        } catch (NumberFormatException e) {
            throw new CommandLine.ParameterException(new CommandLine(new InternVlCli()),
                    option + " " + value + " is not a size (e.g. 512m, 2g)");
        }
    }
}
