/**
 * Source: Debezium topics read with a Kafka consumer group.
 *
 * The sink's stored positions are the truth: the consumer is sought to them
 * on start (lib/pipeline/resume.ts decides), and the group's offsets are committed only
 * after the sink's commit (for lag monitoring, and for `--start-from group`).
 *
 * @module
 */
import type { Admin, Consumer } from "kafkajs";
import { kafkaClient, kafkajsRetry, probeKafka } from "./client.ts";
import { oneProcessAssigner } from "./one_process.ts";
import { isRetriableKafkaError } from "./errors.ts";
import { describeKafka, type KafkaConnection } from "./connection.ts";
import type { FetchLimits, SourceBatch } from "./fetch.ts";
import { type ParkedPartition, PartitionFetcher } from "./fetcher.ts";
import { committedOffsets, partitionWatermarks } from "./admin.ts";
import { logger } from "../util/log.ts";
import { type PartitionPosition, positionList, type Positions } from "./positions.ts";
import type { KafkaPartitionOffsets } from "./admin.ts";
import { abortable, DEFAULT_BACKOFF, retry, waitFor } from "../util/retry.ts";
import { errorMessage } from "../util/errors.ts";

const log = logger("source");

/** What the source tells its watchers (metrics and readiness); every hook is optional. */
export interface SourceEvents {
  /** The group was joined; `partitions` assigned to this process. */
  joined?(partitions: number): void;
  /** The group rebalances: partitions are being reassigned. */
  rebalancing?(): void;
  /** The consumer failed and is restarted. */
  retrying?(error: Error): void;
  /** A fetch failed (a lost connection, a moved leader) and is retried. */
  fetchRetrying?(error: Error): void;
  /** Fetches succeed again after failures. */
  fetchRecovered?(): void;
  /** Committing the group's offsets failed. */
  commitFailed?(error: unknown): void;
}

/** Settings of {@linkcode KafkaSource}. */
export interface SourceOptions {
  kafka: KafkaConnection;
  groupId: string;
  topics: readonly string[];
  events?: SourceEvents;
  /**
   * How long the broker keeps a silent member (default 10 s): after a kill -9, a restarted
   * process waits this long for its partitions. At least the broker's
   * `group.min.session.timeout.ms` (6 s by default).
   */
  sessionTimeoutMs?: number;
  /**
   * How long a look-up made while streaming (the group's offsets of newly assigned
   * partitions, a partition's earliest offset) is retried through coordinator moves, leader
   * elections and lost connections before the stream stops (default 10 min).
   */
  retryTimeoutMs?: number;
  /**
   * Every partition of every topic to one process of the group, the others standing by
   * (lib/kafka/one_process.ts): what applying source transactions whole needs.
   */
  oneProcess?: boolean;
  /**
   * The positions the sink stored for `topics`: where a partition assigned after the start
   * (a topic added by {@linkcode KafkaSource.addTopics}, a partition added to a topic) goes
   * on, before the group's committed offset and the earliest.
   */
  storedPositions?(topics: readonly string[]): Promise<Positions>;
}

/**
 * How much a fetch brings: at most 4 MiB, 256 KiB per partition; a response stays in memory
 * until its last record is handled (1 MiB per partition: the same CPU, +16 MiB peak RSS). A
 * larger record batch still arrives whole (the broker sends at least one). The broker holds a
 * fetch with nothing to return `maxWaitTimeInMs`; that also bounds how long shutdown waits.
 */
export const FETCH_LIMITS: FetchLimits = {
  maxBytes: 4 * 1024 * 1024,
  maxBytesPerPartition: 256 * 1024,
  maxWaitTimeInMs: 1_000,
};

/**
 * How often the group's view of the topics is renewed: partitions added to a topic are read
 * (from their first offset) within about this long. One Metadata request of the stream's
 * topics each time.
 */
export const METADATA_MAX_AGE_MS = 10_000;

/**
 * How long a rebalance may go on before the consumer is restarted. kafkajs drops a group join
 * that the coordinator refuses as moved or loading (NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS: its broker was restarted) without an error or another try,
 * and the process then holds no partition for good while the other members hold theirs
 * (tests/cluster/rolling_restart_test.ts: 3 minutes without a row). A join that goes well
 * ends within Kafka's rebalance timeout (kafkajs's default 60 s).
 */
export const REJOIN_DEADLINE_MS = 70_000;

/**
 * A consumer group over the stream's topics: kafkajs joins the group, heartbeats and
 * commits, with every topic paused (its fetch loop then only heartbeats); the records come
 * from cdc's own fetches of the partitions the group assigns (lib/kafka/fetch.ts).
 */
export class KafkaSource {
  readonly options: SourceOptions;
  readonly #admin: Admin;
  readonly #consumer: Consumer;
  readonly #fetcher: PartitionFetcher;
  /** The topics subscribed to: those given, then those added while streaming. */
  readonly #topics: string[];
  /** Set once the group is being joined: adding a topic from then on means joining again. */
  #running = false;
  /** The subscription changes, one after another. */
  #resubscribing: Promise<void> = Promise.resolve();
  #handler?: (batch: SourceBatch) => Promise<ParkedPartition | void>;
  #fatal?: (error: Error) => void;
  /** Set by {@linkcode stop}: from then on nothing is handed on, and nothing restarts. */
  #stopping = false;
  /** Whether the group was joined: before that, no batch can be in flight. */
  #joined = false;
  /** Where each partition this process read (or was told to start at) goes on. */
  readonly #resumeAt = new Map<string, number>();
  /** True while the group has assigned this process partitions. */
  #holding = false;
  /** Counts assignments: a late answer for an earlier one is dropped. */
  #assignments = 0;
  /** Ends the look-up of the latest assignment (superseded by the next, or stopped). */
  #supersede?: AbortController;
  /** Restarts the consumer when a rebalance does not end in a join ({@link REJOIN_DEADLINE_MS}). */
  #rejoinWatch?: ReturnType<typeof setTimeout>;

  constructor(options: SourceOptions) {
    this.options = options;
    this.#topics = [...options.topics];
    const kafka = kafkaClient(options.kafka, `cdc-${options.groupId}`);
    const sessionTimeout = options.sessionTimeoutMs ?? 10_000;
    this.#admin = kafka.admin();
    const started = Date.now();
    this.#consumer = kafka.consumer({
      groupId: options.groupId,
      ...(options.oneProcess
        ? {
          partitionAssigners: [
            oneProcessAssigner(() => ({ active: this.#holding, since: started })),
          ],
        }
        : {}),
      // Short, so that a restarted process (after kill -9) rejoins without a long wait.
      sessionTimeout,
      heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
      // with every topic paused, kafkajs's loop sleeps this long between heartbeats
      maxWaitTimeInMs: FETCH_LIMITS.maxWaitTimeInMs,
      // kafkajs sees partitions added to a topic only when its metadata is this old (its
      // default: 5 minutes), then rejoins the group so that they are assigned
      metadataMaxAge: METADATA_MAX_AGE_MS,
      allowAutoTopicCreation: false,
      retry: {
        ...kafkajsRetry(10),
        // A broker restart exhausts a round of retries; start over rather than die.
        // Not once stopping: the disconnect of stop() fails a group join in progress, and a
        // restarted consumer would join and stream on after the signal.
        restartOnFailure: (error) => {
          if (this.#stopping) return Promise.resolve(false);
          log.warn(`consumer failed (${errorMessage(error)}); restarting it`);
          options.events?.retrying?.(error);
          return Promise.resolve(true);
        },
      },
    });
    this.#fetcher = new PartitionFetcher({
      connection: options.kafka,
      limits: FETCH_LIMITS,
      handler: (batch) => this.#stopping ? Promise.resolve() : this.#handler!(batch),
      earliestOffset: (topic, partition) =>
        this.#lookUp(`the earliest offset of ${topic}[${partition}]`, async () => {
          const offsets = await this.#admin.fetchTopicOffsets(topic);
          return Number(offsets.find((o) => o.partition === partition)?.low ?? 0);
        }),
      retrying: (error) => options.events?.fetchRetrying?.(error),
      recovered: () => options.events?.fetchRecovered?.(),
      fatal: (error) => this.#fatal?.(error),
    });
    // Rebalances move partitions between the group's processes: say what this one holds.
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      this.#joined = true;
      clearTimeout(this.#rejoinWatch);
      // before kafkajs's first fetch of the assignment (a restarted consumer forgets pauses)
      this.#consumer.pause(this.#topics.map((topic) => ({ topic })));
      log.info(
        `joined consumer group ${options.groupId}: ${
          assignmentSummary(payload.memberAssignment, options.oneProcess)
        }`,
      );
      const assigned = partitionsToRead(payload.memberAssignment, this.#topics);
      this.#holding = assigned.length > 0;
      options.events?.joined?.(assigned.length);
      this.#assign(assigned);
    });
    this.#consumer.on(this.#consumer.events.REBALANCING, () => {
      // the assignment is revoked: nothing is fetched until the group says what is whose
      this.#remember(this.#fetcher.positions());
      this.#fetcher.assign([]);
      options.events?.rebalancing?.();
      this.#watchRejoin();
    });
    this.#consumer.on(this.#consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && !this.#stopping) this.#fatal?.(payload.error);
    });
  }

  /** The topics subscribed to (those given, then those added). */
  get topics(): readonly string[] {
    return this.#topics;
  }

  /** Every topic of the cluster, retried like {@linkcode committedOffsets}. */
  listTopics(signal?: AbortSignal): Promise<string[]> {
    return this.#lookUp("the topics", () => this.#admin.listTopics(), { signal });
  }

  /**
   * Reads `topics` too from now on, each partition from its stored position, else the group's
   * committed offset, else its first. kafkajs cannot change a running consumer's subscription:
   * the consumer leaves the group and joins it again with every topic. The partitions held
   * meanwhile are fetched on until the new assignment replaces them (their positions kept),
   * so the other tables do not wait for the rejoin; another process of the group that gets
   * one of them meanwhile writes it too, which the sink tolerates as in any rebalance (rows
   * keyed by their position, positions only moving forward, fenced modes reading them under
   * a lock). Resolves once the group is joined again.
   */
  addTopics(topics: readonly string[]): Promise<void> {
    const added = topics.filter((topic) => !this.#topics.includes(topic));
    if (added.length === 0) return this.#resubscribing;
    this.#topics.push(...added);
    if (!this.#running) return Promise.resolve();
    const rejoin = this.#resubscribing.then(async () => {
      if (this.#stopping) return;
      const started = Date.now();
      const joined = new Promise<void>((resolve) => {
        const off = this.#consumer.on(this.#consumer.events.GROUP_JOIN, () => {
          off();
          resolve();
        });
      });
      await this.#consumer.stop();
      if (this.#stopping) return;
      await this.#consumer.subscribe({ topics: [...this.#topics], fromBeginning: true });
      await this.#run();
      await joined;
      log.info(
        `subscribed to ${added.join(", ")}: left and joined group ${this.options.groupId} ` +
          `again in ${Date.now() - started} ms`,
      );
    });
    this.#resubscribing = rejoin.catch(() => undefined);
    return rejoin;
  }

  /** Waits with backoff until a broker answers, or until `signal` aborts. */
  async waitForBroker(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await retry(
      () => probeKafka(this.options.kafka),
      {
        what: `Kafka at ${describeKafka(this.options.kafka)}`,
        isTransient: isRetriableKafkaError,
        timeoutMs,
        signal,
        onRetry: ({ error, delayMs }) =>
          log.info(
            `waiting for Kafka at ${describeKafka(this.options.kafka)}: ${
              errorMessage(error)
            } (next try in ${delayMs} ms)`,
          ),
      },
    );
  }

  /**
   * Waits until every topic exists. A table's topic appears when Debezium first writes to
   * it, so this waits without a deadline, saying so (and `hint(missing)`: what to check).
   */
  async waitForTopics(
    signal: AbortSignal,
    hint = (_missing: string[]) =>
      "is the connector registered, and does the table have rows? (cdc connector status)",
  ): Promise<void> {
    let missing: string[] = [];
    await waitFor(
      "the topics",
      async () => {
        const existing = new Set(await abortable(this.#admin.listTopics(), signal));
        missing = this.#topics.filter((t) => !existing.has(t));
        return missing.length === 0;
      },
      Infinity,
      {
        signal,
        backoff: DEFAULT_BACKOFF,
        // a broker that moves or restarts is waited out with the topics; a denial is not
        isFinal: (error) => !isRetriableKafkaError(error),
        progressEveryMs: 15_000,
        onProgress: () => log.info(`waiting for topic(s) ${missing.join(", ")}: ${hint(missing)}`),
      },
    );
  }

  /**
   * The group's committed offsets, for the resume plan: retried through a coordinator that
   * is loading, moving or not elected yet (a new cluster, a new group) for up to `timeoutMs`.
   */
  committedOffsets(timeoutMs: number, signal?: AbortSignal): Promise<Positions> {
    return this.#lookUp(
      `the committed offsets of group ${this.options.groupId}`,
      () => committedOffsets(this.#admin, this.options.groupId, this.#topics),
      { timeoutMs, signal },
    );
  }

  /** Each partition's earliest and end offsets, retried like {@linkcode committedOffsets}. */
  watermarks(
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Map<string, KafkaPartitionOffsets[]>> {
    return this.#lookUp(
      `the offsets of ${this.#topics.join(", ")}`,
      () => partitionWatermarks(this.#admin, this.#topics),
      { timeoutMs, signal },
    );
  }

  /**
   * A look-up through kafkajs's admin, retried on what Kafka recovers from by itself (a
   * coordinator loading or moved, a leader being elected, a lost connection) with a line per
   * retry, until `timeoutMs` (default: the stream's retry timeout) or `signal`.
   */
  #lookUp<T>(
    what: string,
    work: () => Promise<T>,
    { timeoutMs = this.options.retryTimeoutMs ?? 600_000, signal }: {
      timeoutMs?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<T> {
    return retry(work, {
      what,
      timeoutMs,
      signal,
      isTransient: isRetriableKafkaError,
      onRetry: ({ error, delayMs }) => {
        log.warn(`looking up ${what}: ${errorMessage(error)} (next try in ${delayMs} ms)`);
        this.options.events?.retrying?.(error as Error);
      },
    });
  }

  /**
   * Joins the group and feeds `handler` batch by batch, each partition from
   * its offset in `start` (see lib/pipeline/resume.ts); partitions the group assigns later, from
   * where this process left them, else from the group's committed offset, else the
   * earliest. `onFatal` hears of a source that cannot go on. When `signal` aborts, this
   * stops waiting for the connect or the group join (after a kill -9 of the group's
   * previous member a join takes its session timeout); {@linkcode stop} then ends them.
   */
  async start(
    start: Positions,
    handler: (batch: SourceBatch) => Promise<ParkedPartition | void>,
    onFatal: (error: Error) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    signal?.throwIfAborted();
    this.#fatal = onFatal;
    this.#handler = handler;
    this.#remember(positionList(start));
    await abortable(this.#join(), signal);
  }

  /** Connects, subscribes and runs the consumer: resolves once the group is joined. */
  async #join(): Promise<void> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [...this.#topics], fromBeginning: true });
    this.#running = true;
    await this.#run();
  }

  #run(): Promise<void> {
    return this.#consumer.run({
      autoCommit: false,
      // every topic is paused on joining: kafkajs fetches nothing, the fetcher does
      eachBatch: () => Promise.resolve(),
    });
  }

  /** Restarts the consumer unless the group is joined within {@link REJOIN_DEADLINE_MS}. */
  #watchRejoin(): void {
    clearTimeout(this.#rejoinWatch);
    if (this.#stopping) return;
    this.#rejoinWatch = setTimeout(() => this.#restart(), REJOIN_DEADLINE_MS);
  }

  /** Stops and runs the consumer again: a new join, as after a crash kafkajs restarts. */
  async #restart(): Promise<void> {
    const error = new Error(
      `consumer group ${this.options.groupId} not joined again ${REJOIN_DEADLINE_MS / 1000} s ` +
        "after a rebalance began (kafkajs drops a join refused by a coordinator that moved)",
    );
    log.warn(`${error.message}; restarting the consumer`);
    this.options.events?.retrying?.(error);
    this.#watchRejoin(); // the restarted join may be dropped too
    try {
      await this.#consumer.stop();
      if (!this.#stopping) await this.#run();
    } catch (failure) {
      log.warn(`restarting the consumer: ${errorMessage(failure)}`);
    }
  }

  #remember(positions: readonly PartitionPosition[]): void {
    for (const { topic, partition, offset } of positions) {
      this.#resumeAt.set(`${topic}/${partition}`, offset);
    }
  }

  /** Fetches `assigned` from now on: at once what is known, the rest once looked up. */
  #assign(assigned: readonly { topic: string; partition: number }[]): void {
    const assignment = ++this.#assignments;
    this.#remember(this.#fetcher.positions());
    const unknown = assigned.filter((p) => !this.#resumeAt.has(`${p.topic}/${p.partition}`));
    // a later assignment or the stop ends the retrying of this one's look-up
    const superseded = new AbortController();
    this.#supersede?.abort();
    this.#supersede = superseded;
    const lookUp = unknown.length
      ? this.#lookUp(
        `the committed offsets of group ${this.options.groupId} for newly assigned partitions`,
        () => this.#groupOffsets(unknown),
        { signal: superseded.signal },
      )
      : Promise.resolve();
    lookUp.then(() => {
      if (assignment !== this.#assignments || this.#stopping) return;
      // what the fetcher read of the partitions it kept while the offsets were looked up
      this.#remember(this.#fetcher.positions());
      this.#fetcher.assign(assigned.map(({ topic, partition }) => ({
        topic,
        partition,
        offset: this.#resumeAt.get(`${topic}/${partition}`)!,
      })));
    }, (error) => {
      if (!superseded.signal.aborted) this.#fatal?.(error);
    });
  }

  /**
   * Where newly assigned `partitions` go on: the sink's stored position, else the group's
   * committed offset, else the earliest.
   */
  async #groupOffsets(partitions: readonly { topic: string; partition: number }[]) {
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const stored = await this.options.storedPositions?.(topics) ?? new Map();
    const committed = await this.#admin.fetchOffsets({ groupId: this.options.groupId, topics });
    const watermarks = await partitionWatermarks(this.#admin, topics);
    for (const { topic, partitions: offsets } of committed) {
      for (const { partition, offset } of offsets) {
        const key = `${topic}/${partition}`;
        if (this.#resumeAt.has(key)) continue;
        const low = watermarks.get(topic)?.find((o) => o.partition === partition)?.earliest ?? 0;
        const at = stored.get(topic)?.get(partition);
        const [next, from] = at !== undefined
          ? [at, "its stored position"]
          : Number(offset) >= 0
          ? [Number(offset), "the group's committed offset"]
          : [Number(low), "its earliest offset (nothing stored or committed)"];
        this.#resumeAt.set(key, next);
        log.info(`${topic}[${partition}]: newly assigned, reading from ${next}, ${from}`);
      }
    }
  }

  /** Commits the group's offsets (after the sink committed); failures only logged. */
  async commit(positions: Positions): Promise<void> {
    const offsets = positionList(positions).map((p) => ({ ...p, offset: String(p.offset) }));
    if (offsets.length === 0) return;
    try {
      await this.#consumer.commitOffsets(offsets);
    } catch (error) {
      // Stored positions in the sink are what counts; the group offsets only trail them.
      log.debug(`committing group offsets failed: ${errorMessage(error)}`);
      this.options.events?.commitFailed?.(error);
    }
  }

  /**
   * Leaves the group and closes connections; waits for a running batch to
   * return, but at most `timeoutMs`: after a broker restart kafkajs can wait
   * forever to leave, and by now every written batch is committed in the sink.
   * Before the group is joined it does not wait at all: kafkajs's disconnect
   * waits for the pending join request, which after a kill -9 of the group's
   * previous process takes the session timeout, and nothing was handed on.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#rejoinWatch);
    this.#supersede?.abort();
    const leave = (async () => {
      await this.#fetcher.stop();
      await this.#resubscribing;
      await this.#consumer.disconnect().catch((e) => log.debug(errorMessage(e)));
      await this.#admin.disconnect().catch((e) => log.debug(errorMessage(e)));
    })();
    if (!this.#joined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"timeout">((resolve) =>
      timer = setTimeout(() => resolve("timeout"), timeoutMs)
    );
    if (await Promise.race([leave.then(() => "left" as const), deadline]) === "timeout") {
      log.warn(`Kafka did not confirm leaving the group within ${timeoutMs} ms; exiting anyway`);
    }
    clearTimeout(timer);
  }
}

/**
 * The partitions of `assignment` to read, in the order of `topics` (the tables', then a
 * transaction topic), each topic's in partition order. A topic not among `topics` is left out:
 * another process of the group found it first, and it is read once this one finds it too (its
 * join reassigns the group's partitions). The order is the fetch's: the first response then
 * brings the tables' first records before the markers, and their registry look-ups and DDL
 * start before the markers are read (0.17 s of `--transactions`' first row).
 */
export function partitionsToRead(
  assignment: Record<string, number[]>,
  topics: readonly string[],
): { topic: string; partition: number }[] {
  return topics.flatMap((topic) =>
    [...assignment[topic] ?? []].sort((a, b) => a - b).map((partition) => ({ topic, partition }))
  );
}

/**
 * `topic[0,1], other[0]`, or that nothing is assigned: more processes than partitions, or
 * (`oneProcess`) another process holds them all and this one stands by.
 */
export function assignmentSummary(
  assignment: Record<string, number[]>,
  oneProcess = false,
): string {
  const parts = Object.entries(assignment)
    .filter(([, partitions]) => partitions.length > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([topic, partitions]) => `${topic}[${[...partitions].sort((a, b) => a - b).join(",")}]`);
  if (parts.length) return `assigned ${parts.join(", ")}`;
  return oneProcess
    ? "standing by: another process of the group holds every partition, which applying " +
      "source transactions whole needs; this one takes over if that one stops"
    : "no partitions assigned (the group has more processes than partitions)";
}
