package dev.internvl.mesh.tools.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/internvl}: the embedded, single-process tools. */
@Command(name = "internvl", mixinStandardHelpOptions = true,
        description = "InternVL Mesh command-line tools.",
        subcommands = {ChatCommand.class, DemoCheckpointCommand.class})
public final class InternVlCli {
    public static void main(String[] args) {
        System.exit(new CommandLine(new InternVlCli()).execute(args));
    }
}
