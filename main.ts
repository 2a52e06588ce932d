/**
 * `cdc`: Debezium change streams → change-history tables in MySQL/MariaDB.
 * This file only wires the subcommands; each lives in `lib/cli/commands/`.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import denoJson from "./deno.json" with { type: "json" };
import { EXIT } from "./lib/cli/errors.ts";
import { connectorCommand } from "./lib/cli/commands/connector.ts";
import { schemasCommand } from "./lib/cli/commands/schemas.ts";
import { statusCommand } from "./lib/cli/commands/status.ts";
import { streamCommand } from "./lib/cli/commands/stream.ts";
import { tailCommand } from "./lib/cli/commands/tail.ts";
import { waitCommand } from "./lib/cli/commands/wait.ts";

/** The `cdc` program with every subcommand. */
export function program(): Command {
  const cdc = new Command("cdc")
    .description("Debezium change streams → <table>_cdc change-history tables in MySQL/MariaDB")
    .addCommand(streamCommand())
    .addCommand(statusCommand())
    .addCommand(connectorCommand())
    .addCommand(schemasCommand())
    .addCommand(tailCommand())
    .addCommand(waitCommand());
  inheritUsageHandling(cdc);
  return cdc;
}

/**
 * Everywhere in the tree: `--version`, and usage errors that throw (exit 2 below)
 * instead of exiting 1.
 */
function inheritUsageHandling(command: Command): void {
  command.version(denoJson.version, "-V, --version")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  for (const sub of command.commands) inheritUsageHandling(sub);
}

if (import.meta.main) {
  try {
    await program().parseAsync(Deno.args, { from: "user" });
    // The command has finished its work; a client library's leftover timer must not keep us up.
    Deno.exit(Deno.exitCode);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // --help and --version exit 0; any other commander error is a usage error.
    Deno.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
}
