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
  type Logger,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";

/** Log line formats: human text or JSON lines for log collectors. */
export type LogFormat = "text" | "json";

const encoder = new TextEncoder();

/**
 * Sends log records to stderr. Writes are synchronous so that the last lines
 * before an exit (an error, a signal) are never lost in a buffer.
 */
export function configureLogging(level: LogLevel, format: LogFormat): void {
  const formatter = format === "json" ? getJsonLinesFormatter() : getTextFormatter({
    timestamp: "date-time-tz",
    category: ".",
  });
  configureSync({
    reset: true,
    sinks: {
      stderr: (record: LogRecord) => {
        Deno.stderr.writeSync(encoder.encode(formatter(record)));
      },
    },
    loggers: [
      { category: ["cdc"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/** The logger of one part of `cdc`, e.g. `logger("sink")`. */
export function logger(part: string): Logger {
  return getLogger(["cdc", part]);
}
