/**
 * The `--dry-run` writer: rows as JSON lines on stdout, nothing written,
 * no positions stored (each run starts from the group's offsets or the start).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { ColumnDef } from "../mysql/dialect.ts";
import type { SinkBatch } from "./batch.ts";
import type { Positions } from "../kafka/mod.ts";
import type { RowWriter } from "./writer.ts";
import type { SqlValue } from "../mysql/values.ts";

const encoder = new TextEncoder();

/** A value as JSON can show it: bytes as hex, big integers as strings. */
function jsonValue(value: SqlValue): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) return `0x${value.toString("hex")}`;
  if (value !== null && typeof value === "object") return value.toSqlString();
  return value;
}

/** stdout may take a large write in parts. */
function writeAllSync(bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
}

/** Prints each row as `{"table": ..., "row": {...}}` on stdout. */
export class DryRunSink implements RowWriter {
  readonly description = "stdout (dry run)";

  open(): Promise<void> {
    return Promise.resolve();
  }

  storedPositions(): Promise<Positions> {
    return Promise.resolve(new Map());
  }

  ensureTable(
    _table: string,
    _columns: readonly ColumnDef[],
    _key: readonly string[],
  ): Promise<void> {
    return Promise.resolve();
  }

  write(batch: SinkBatch): Promise<void> {
    const lines: string[] = [];
    for (const { table, columnNames, rows } of batch.tables) {
      for (const row of rows) {
        const record: Record<string, unknown> = {};
        columnNames.forEach((name, i) => record[name] = jsonValue(row[i]));
        lines.push(JSON.stringify({ table, row: record }));
      }
    }
    for (const letter of batch.deadLetters) {
      lines.push(JSON.stringify({
        deadLetter: { ...letter, key: jsonValue(letter.key), value: jsonValue(letter.value) },
      }));
    }
    if (lines.length) writeAllSync(encoder.encode(lines.join("\n") + "\n"));
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
