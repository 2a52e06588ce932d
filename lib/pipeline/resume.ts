/**
 * Where a stream starts reading, partition by partition, and why.
 *
 * Pure: given what the sink stored, what the consumer group committed, the
 * partition's earliest and end offsets and `--start-from`, it decides the
 * offset and explains it. The source only seeks to the result.
 *
 * The default (`stored`) never skips history still in Kafka: a partition the
 * sink holds no position for is read from its earliest offset, even when the
 * group has committed offsets (the sink was emptied, or is another database);
 * re-written rows are no-ops thanks to the (partition, offset) primary key.
 *
 * @module
 */
import { type KafkaPartitionOffsets, type Positions, withCommitted } from "../kafka/mod.ts";
import { DeadlineError, waitFor } from "../util/retry.ts";

/** The values of `--start-from`. */
export const START_FROM = ["stored", "group", "earliest"] as const;

/**
 * `stored` (default): the sink's positions, else earliest. `group`: the sink's,
 * else the group's committed offsets, else earliest. `earliest`: all still in Kafka.
 */
export type StartFrom = typeof START_FROM[number];

/** Where one partition starts, and the sentence that says why. */
export interface ResumePoint {
  topic: string;
  partition: number;
  offset: number;
  /** Whose offset it is. */
  from: "stored" | "group" | "earliest" | "end";
  why: string;
  /** Set when the operator should know: history re-read, or lost to retention. */
  warning?: string;
  /** The group's committed offset, when the default passed it over (emptied sink). */
  passedOverGroupOffset?: number;
}

/** A position that cannot be resumed from without losing or mixing up rows. */
export class ResumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResumeError";
  }
}

/** What {@linkcode planResume} decides from. */
export interface ResumeInput {
  groupId: string;
  startFrom: StartFrom;
  /** Next offsets stored in the sink for the group. */
  stored: Positions;
  /** Kafka's offsets, by topic. */
  kafka: ReadonlyMap<string, readonly KafkaPartitionOffsets[]>;
  /**
   * A topic read alongside the others that starts at its end when it has no stored position
   * while another topic has one: the transaction topic of `--transactions` turned on for a
   * sink that has streamed without it (its history is of changes applied already).
   */
  joinsAtEnd?: string;
}

/** The reads a resume plan is made from, made by {@linkcode readResumePlan} in its order. */
export interface ResumeReads {
  /** The consumer group's committed offsets. */
  committed(): Promise<Positions>;
  /** The positions stored in the sink for the group. */
  stored(): Promise<Positions>;
  /** Each partition's earliest and end offsets, by topic (`committed` left out). */
  watermarks(): Promise<Map<string, KafkaPartitionOffsets[]>>;
}

/** Options of {@linkcode readResumePlan}. */
export interface ResumeReadOptions {
  groupId: string;
  startFrom: StartFrom;
  /** See {@linkcode ResumeInput.joinsAtEnd}. */
  joinsAtEnd?: string;
  /** How long a position past the end is read again before it stops the stream. */
  recheckMs: number;
  /** Hears that the end offsets are read again, with the reason (once). */
  onRecheck?: (reason: ResumeError) => void;
  signal?: AbortSignal;
}

/**
 * Reads what a plan is made from while other processes of the group may be writing, in the
 * one order in which neither of its checks can be fooled by them:
 * 1. the group's committed offsets: the group commits only after the sink did, so every
 *    committed offset read has its stored position by the time the sink is read (no false
 *    "the sink was emptied");
 * 2. the sink's stored positions;
 * 3. each partition's earliest and end offsets: an end offset only grows, so every position
 *    stored before it was read is at most that end (no false "past the end").
 * A position that is still past the end is read against the end again for up to
 * `recheckMs` (a newly elected leader's high watermark can trail its predecessor's for a
 * moment) before the {@linkcode ResumeError} stops the stream.
 */
export async function readResumePlan(
  reads: ResumeReads,
  options: ResumeReadOptions,
): Promise<ResumePoint[]> {
  const { groupId, startFrom, joinsAtEnd } = options;
  const committed = await reads.committed();
  const stored = await reads.stored();
  let rechecking = false;
  try {
    return await waitFor(
      "the end offsets to reach the stored positions",
      async () => {
        const kafka = withCommitted(await reads.watermarks(), committed);
        try {
          return planResume({ groupId, startFrom, stored, kafka, joinsAtEnd });
        } catch (error) {
          if (error instanceof ResumeError && !rechecking) {
            rechecking = true;
            options.onRecheck?.(error);
          }
          throw error;
        }
      },
      options.recheckMs,
      {
        signal: options.signal,
        isFinal: (error) => !(error instanceof ResumeError),
      },
    );
  } catch (error) {
    throw error instanceof DeadlineError && error.lastError instanceof ResumeError
      ? error.lastError
      : error;
  }
}

/** Decides, for every partition of every topic, the offset to start from. */
export function planResume(input: ResumeInput): ResumePoint[] {
  const points: ResumePoint[] = [];
  const joining = input.joinsAtEnd !== undefined && !input.stored.has(input.joinsAtEnd) &&
    input.stored.size > 0 && input.startFrom !== "earliest";
  for (const [topic, partitions] of input.kafka) {
    for (const p of [...partitions].sort((a, b) => a.partition - b.partition)) {
      points.push(
        joining && topic === input.joinsAtEnd
          ? {
            topic,
            partition: p.partition,
            offset: p.end,
            from: "end",
            why: "no position stored in the sink, which holds positions of the other topics",
            warning: "starting at its end: its history is of changes the sink has applied " +
              "already; a transaction in flight now is applied as it comes",
          }
          : resumePoint(input, topic, p),
      );
    }
  }
  return points;
}

/** The plan's offsets, as the source seeks to them. */
export function planPositions(points: readonly ResumePoint[]): Positions {
  const positions: Positions = new Map();
  for (const { topic, partition, offset } of points) {
    if (!positions.has(topic)) positions.set(topic, new Map());
    positions.get(topic)!.set(partition, offset);
  }
  return positions;
}

/** One line for the start-up log: `topic[0] from offset 42 (stored in the sink)`. */
export function describeResumePoint(point: ResumePoint): string {
  const head = `${point.topic}[${point.partition}] from offset ${point.offset} (${point.why})`;
  return point.warning ? `${head}: ${point.warning}` : head;
}

/** A start-up log line; `warn` for those an operator must not miss. */
export interface ResumeLogLine {
  warn: boolean;
  text: string;
}

/**
 * The start-up log of a plan: one line per partition, and first a summary
 * when the sink holds no positions at all but the group has committed offsets.
 */
export function resumeLog(points: readonly ResumePoint[], sink: string): ResumeLogLine[] {
  const lines: ResumeLogLine[] = [];
  const passedOver = points.filter((p) => p.passedOverGroupOffset !== undefined);
  if (passedOver.length > 0 && points.every((p) => p.from !== "stored")) {
    lines.push({
      warn: true,
      text: `${sink} holds no stored positions, but the consumer group has committed offsets ` +
        `for ${passedOver.length} partition(s): the sink was emptied, or is another database. ` +
        `Reading them from the earliest offset so that no history still in Kafka is skipped`,
    });
  }
  for (const point of points) {
    lines.push({
      warn: point.warning !== undefined,
      text: `resuming ${describeResumePoint(point)}`,
    });
  }
  return lines;
}

function resumePoint(
  { groupId, startFrom, stored: storedPositions }: ResumeInput,
  topic: string,
  p: KafkaPartitionOffsets,
): ResumePoint {
  const name = `${topic}[${p.partition}]`;
  const stored = storedPositions.get(topic)?.get(p.partition);
  const base = { topic, partition: p.partition };
  const earliest = (why: string, warning?: string): ResumePoint => ({
    ...base,
    offset: p.earliest,
    from: "earliest",
    why,
    ...(warning ? { warning } : {}),
  });
  if (startFrom === "earliest") {
    return earliest(
      "--start-from earliest",
      stored === undefined ? undefined : `re-reading ${Math.max(0, stored - p.earliest)} ` +
        `records below the stored position ${stored}; rows already in the sink stay as they are`,
    );
  }
  if (stored !== undefined) return checked(name, base, stored, "stored", "stored in the sink", p);
  if (p.committed === undefined) {
    return earliest(`no position stored in the sink, no offset committed by group ${groupId}`);
  }
  if (startFrom === "group") {
    return checked(
      name,
      base,
      p.committed,
      "group",
      `no position stored in the sink; offset committed by group ${groupId}, --start-from group`,
      p,
    );
  }
  return {
    ...earliest(
      "no position stored in the sink",
      `group ${groupId} has committed offset ${p.committed}, so the sink was emptied or is ` +
        `another database: reading the ${p.end - p.earliest} records still in Kafka rather than ` +
        `skipping to the group's offset (rows already in the sink stay as they are); ` +
        `--start-from group resumes at the group's offset instead`,
    ),
    passedOverGroupOffset: p.committed,
  };
}

/** `offset` as the start, unless it is past the end (refused) or already deleted (clamped). */
function checked(
  name: string,
  base: { topic: string; partition: number },
  offset: number,
  from: "stored" | "group",
  why: string,
  p: KafkaPartitionOffsets,
): ResumePoint {
  const whose = from === "stored" ? "the sink's stored position" : "the group's committed offset";
  if (offset > p.end) {
    throw new ResumeError(
      `${name}: ${whose} ${offset} is past the partition's end offset ${p.end}: the topic was ` +
        `recreated, or this sink or group belongs to another Kafka cluster. Rows of the new ` +
        `records would collide with old ones; stream into another --sink-database or ` +
        `--group-id (or drop the _cdc tables and their ${
          from === "stored" ? "stored positions" : "group"
        })`,
    );
  }
  if (offset < p.earliest) {
    return {
      ...base,
      offset: p.earliest,
      from: "earliest",
      why: `${why} was ${offset}, before the earliest offset`,
      warning: `records ${offset}..${p.earliest - 1} were deleted by Kafka's retention before ` +
        `they were written: the _cdc table misses them`,
    };
  }
  return { ...base, offset, from, why };
}
