/**
 * What every subcommand shares: logging set-up from its options, and the
 * mapping of outcomes to exit codes (0 ok, 1 failure, 2 usage; see errors.ts).
 *
 * @module
 */
import { Command } from "commander";
import { configureLogging, logger } from "../util/log.ts";
import { CliError, EXIT } from "./errors.ts";
import { type LogOptions, logOptions } from "./options/common.ts";
import { errorMessage } from "../util/errors.ts";

/** Writes one result line to stdout (logs go to stderr). */
export function print(text: string): void {
  console.log(text);
}

/**
 * A subcommand with the logging options, whose action's thrown errors are
 * logged in one line and turned into exit code 1 (or the CliError's code).
 */
export function subcommand<O extends object>(
  name: string,
  description: string,
  action: (options: O & LogOptions, command: Command) => Promise<number | void>,
): Command {
  const command = new Command(name).description(description);
  for (const option of logOptions()) command.addOption(option);
  command.action(async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const options = cmd.opts<O & LogOptions>();
    configureLogging(options.logLevel, options.logFormat);
    try {
      const code = await action(options, cmd);
      Deno.exitCode = code ?? EXIT.ok;
    } catch (error) {
      logger(name).error(errorMessage(error));
      if (!(error instanceof CliError) && options.logLevel === "debug" && error instanceof Error) {
        logger(name).debug(error.stack ?? "");
      }
      Deno.exitCode = error instanceof CliError ? error.exitCode : EXIT.failure;
    }
  });
  return command;
}
