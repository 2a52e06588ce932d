/**
 * Errors every part of `cdc` shares: the message of any thrown value, and bad input, the
 * records that are not what Debezium and the Avro converter write (`--on-error` decides
 * what happens to them).
 *
 * @module
 */

/** Why a record could not be decoded; the policy of `--on-error` applies to these. */
export type BadInputReason =
  | "not-confluent-framing"
  | "unknown-schema-id"
  | "undecodable-avro"
  | "unmappable-type"
  | "not-debezium-envelope"
  | "missing-row-image"
  | "missing-key";

/** A record that is not what Debezium + the Avro converter write. */
export class BadInputError extends Error {
  constructor(readonly reason: BadInputReason, message: string) {
    super(message);
    this.name = "BadInputError";
  }
}

/** The message of any thrown value, with its cause chain, on one line. */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const parts = [error.message || error.name];
  let cause = error.cause;
  while (cause instanceof Error) {
    if (!parts.includes(cause.message)) parts.push(cause.message);
    cause = cause.cause;
  }
  return parts.join(": ");
}
