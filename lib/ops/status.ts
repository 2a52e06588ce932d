/**
 * `cdc status` as data: per table and partition the stored position, the
 * topic's end offset, the lag, the newest `__source_ts` written and its age;
 * the thresholds it exceeds; and its rendering as a text table. Pure: the
 * command gathers the inputs.
 *
 * @module
 */
import type { GroupState, KafkaPartitionOffsets } from "../kafka/mod.ts";
import type { NewestRow } from "../sink/reader.ts";

/** One partition of a table's topic. */
export interface PartitionStatus {
  partition: number;
  /** Next offset stored in the sink; null when the sink holds none. */
  stored: number | null;
  /** The group's committed offset; null when it has none. */
  committed: number | null;
  earliest: number;
  end: number;
  /** Records in Kafka not yet in the sink: end minus stored (or minus earliest without one). */
  lag: number;
  /** Offset and `__source_ts` of the newest row written; null before the first. */
  newestOffset: number | null;
  newestSourceTs: string | null;
  /** Seconds from `newestSourceTs` to the time of the report. */
  ageSeconds: number | null;
}

/** One streamed table. */
export interface TableStatus {
  table: string;
  topic: string;
  cdcTable: string;
  /** Summed over partitions. */
  lag: number;
  /** The newest over partitions. */
  newestSourceTs: string | null;
  ageSeconds: number | null;
  partitions: PartitionStatus[];
}

/** The connector's state, or why it could not be read. */
export interface ConnectorSummary {
  name: string;
  state?: string;
  tasks?: { id: number; state: string }[];
  error?: string;
}

/** Everything `cdc status` reports. */
export interface StatusReport {
  at: string;
  sink: string;
  group: GroupState;
  connector?: ConnectorSummary;
  tables: TableStatus[];
  /** One sentence per threshold exceeded; empty when all is well. */
  exceeded: string[];
}

/** What a table's status is computed from. */
export interface TableInput {
  table: string;
  topic: string;
  cdcTable: string;
  stored: ReadonlyMap<number, number> | undefined;
  kafka: readonly KafkaPartitionOffsets[];
  newest: readonly NewestRow[];
}

/** Thresholds: exceeded → exit 1. */
export interface Thresholds {
  maxLag?: number;
  /** Milliseconds. */
  maxAge?: number;
}

/** Combines the sink's and Kafka's view of one table at time `now`. */
export function tableStatus(input: TableInput, now: Date): TableStatus {
  const newest = new Map(input.newest.map((row) => [row.partition, row]));
  const age = (ts: Date | null) => ts === null ? null : (now.getTime() - ts.getTime()) / 1000;
  const partitions = input.kafka.map((p): PartitionStatus => {
    const stored = input.stored?.get(p.partition) ?? null;
    const row = newest.get(p.partition);
    return {
      partition: p.partition,
      stored,
      committed: p.committed ?? null,
      earliest: p.earliest,
      end: p.end,
      lag: Math.max(0, p.end - (stored ?? p.earliest)),
      newestOffset: row?.offset ?? null,
      newestSourceTs: row?.sourceTs?.toISOString() ?? null,
      ageSeconds: age(row?.sourceTs ?? null),
    };
  });
  const times = input.newest.flatMap((r) => r.sourceTs ? [r.sourceTs] : []);
  const latest = times.length ? new Date(Math.max(...times.map((t) => t.getTime()))) : null;
  return {
    table: input.table,
    topic: input.topic,
    cdcTable: input.cdcTable,
    lag: partitions.reduce((sum, p) => sum + p.lag, 0),
    newestSourceTs: latest?.toISOString() ?? null,
    ageSeconds: age(latest),
    partitions,
  };
}

/** One sentence per table and threshold exceeded. */
export function exceededThresholds(tables: readonly TableStatus[], limits: Thresholds): string[] {
  const out: string[] = [];
  for (const t of tables) {
    if (limits.maxLag !== undefined && t.lag > limits.maxLag) {
      out.push(`${t.cdcTable}: lag ${t.lag} records > --max-lag ${limits.maxLag}`);
    }
    if (limits.maxAge !== undefined) {
      const maxAge = formatAge(limits.maxAge / 1000);
      if (t.ageSeconds === null) {
        out.push(`${t.cdcTable}: no row with a __source_ts written yet (--max-age ${maxAge})`);
      } else if (t.ageSeconds * 1000 > limits.maxAge) {
        out.push(
          `${t.cdcTable}: newest __source_ts ${t.newestSourceTs} is ${
            formatAge(t.ageSeconds)
          } old > --max-age ${maxAge}`,
        );
      }
    }
  }
  return out;
}

/** `45s`, `12m5s`, `1h`, `3d4h`: the two largest units, rounded down. */
export function formatAge(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const units = [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]] as const;
  const first = units.findIndex(([, size]) => total >= size);
  if (first === -1) return "0s";
  const [unit, size] = units[first];
  const next = units[first + 1];
  const rest = next ? Math.floor((total % size) / next[1]) : 0;
  return `${Math.floor(total / size)}${unit}${rest > 0 ? `${rest}${next![0]}` : ""}`;
}

/** The report for people: group, connector, then one line per partition. */
export function renderStatus(report: StatusReport): string {
  const { group } = report;
  const lines = [
    `group ${group.groupId}: ${group.state}, ${group.members.length} member(s)${
      group.members.length === 0 ? " (no stream runs)" : ""
    }`,
    ...group.members.map((m) =>
      `  ${m.clientId} on ${m.host}: ${
        Object.entries(m.assignment).map(([t, ps]) => `${t}[${ps.join(",")}]`).join(" ") ||
        "no partitions"
      }`
    ),
  ];
  const c = report.connector;
  if (c) {
    lines.push(
      c.error
        ? `connector ${c.name}: ${c.error}`
        : `connector ${c.name}: ${c.state}${
          c.tasks?.length
            ? `, ${c.tasks.map((t) => `task ${t.id} ${t.state}`).join(", ")}`
            : ", no tasks"
        }`,
    );
  }
  lines.push(`sink ${report.sink}`, "");
  const rows = [["TABLE", "PARTITION", "STORED", "END", "LAG", "NEWEST SOURCE TS", "AGE"]];
  const cell = (v: number | string | null) => v === null ? "-" : String(v);
  const age = (s: number | null) => s === null ? "-" : formatAge(s);
  for (const t of report.tables) {
    for (const p of t.partitions) {
      rows.push([
        t.cdcTable,
        String(p.partition),
        cell(p.stored),
        String(p.end),
        String(p.lag),
        cell(p.newestSourceTs),
        age(p.ageSeconds),
      ]);
    }
    if (t.partitions.length !== 1) {
      rows.push([
        t.cdcTable,
        "all",
        "",
        "",
        String(t.lag),
        cell(t.newestSourceTs),
        age(t.ageSeconds),
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  lines.push(...rows.map((r) => r.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd()));
  if (report.exceeded.length) lines.push("", ...report.exceeded.map((e) => `EXCEEDED ${e}`));
  return lines.join("\n");
}
