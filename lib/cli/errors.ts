/**
 * Exit codes and the error that carries one: shared by the subcommands and the option
 * converters (which throw usage errors), with no imports, so neither depends on the other.
 *
 * @module
 */

/** Exit codes of `cdc`. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** An error whose message is the whole story: printed without a stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.failure) {
    super(message);
    this.name = "CliError";
  }
}
