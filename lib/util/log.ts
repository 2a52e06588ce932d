/**
 * Logging: one configuration for every subcommand, written to stderr so that
 * stdout stays free for data (`--dry-run` rows, `tail` events).
 *
 * @module
 */
import {
  configureSync,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";

/** Log line formats: human text or JSON lines for log collectors. */
export type LogFormat = "text" | "json";

const encoder = new TextEncoder();

/**
 * Sends log records to stderr (or to `write`, for tests). Writes are synchronous
 * so that the last lines before an exit (an error, a signal) are never lost in a buffer.
 */
export function configureLogging(
  level: LogLevel,
  format: LogFormat,
  write: (bytes: Uint8Array) => void = (bytes) => Deno.stderr.writeSync(bytes),
): void {
  const formatter = format === "json" ? getJsonLinesFormatter() : getTextFormatter({
    timestamp: "date-time-tz",
    category: ".",
  });
  configureSync({
    reset: true,
    sinks: {
      stderr: (record: LogRecord) => {
        write(encoder.encode(formatter(record)));
      },
    },
    loggers: [
      { category: ["cdc"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/** A log line's text, and for JSON lines, structured properties beside it. */
type LogMethod = (message: string, properties?: Record<string, unknown>) => void;

/** What `cdc` logs through: messages are plain text, never templates. */
export interface Log {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/**
 * LogTape reads `{name}` in a message as a placeholder and drops it; doubled
 * braces are its escape. Messages carry JSON, options and identifiers verbatim.
 */
export function literalMessage(message: string): string {
  return message.replaceAll("{", "{{").replaceAll("}", "}}");
}

/** The logger of one part of `cdc`, e.g. `logger("sink")`. */
export function logger(part: string): Log {
  const inner = getLogger(["cdc", part]);
  return {
    debug: (message, properties) => inner.debug(literalMessage(message), properties),
    info: (message, properties) => inner.info(literalMessage(message), properties),
    warn: (message, properties) => inner.warn(literalMessage(message), properties),
    error: (message, properties) => inner.error(literalMessage(message), properties),
  };
}
