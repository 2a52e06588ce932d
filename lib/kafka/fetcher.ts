/**
 * The stream's fetches: one fetch loop per partition leader, each sending Fetch requests of
 * its own (lib/kafka/fetch.ts) and handing each partition's records on in order. Leaders are
 * found with Metadata requests and looked up again when they move; lost connections and moved
 * leaders are retried with the one backoff of lib/util/retry.ts. kafkajs runs the consumer
 * group, with every topic paused, and the commits; lib/kafka/consumer.ts joins the two.
 *
 * @module
 */
import { BrokerConnection } from "./broker.ts";
import { brokerAddress, type KafkaConnection } from "./connection.ts";
import {
  ERROR,
  isAuthenticationError,
  isRetriableKafkaError,
  KafkaProtocolError,
} from "./errors.ts";
import {
  type ClusterLayout,
  FETCH_VERSIONS,
  FetchedDataError,
  type FetchLimits,
  fetchRequestBody,
  METADATA_VERSIONS,
  metadataRequestBody,
  parseFetchResponse,
  parseMetadataResponse,
  type PartitionFetch,
  type SourceBatch,
} from "./fetch.ts";
import type { PartitionPosition } from "./positions.ts";
import { API } from "./wire.ts";
import { logger } from "../util/log.ts";
import { backoffDelay, delay } from "../util/retry.ts";
import { errorMessage } from "../util/errors.ts";

const log = logger("source");

/** How long the broker may hold a fetch while a partition waits to resume (ms). */
const PARKED_MAX_WAIT_MS = 50;

/**
 * What a handler returns for a partition whose records it holds without having handled them
 * (their table is being prepared): the partition is fetched no further until `resumed`
 * settles, while the leader's other partitions are.
 */
export interface ParkedPartition {
  resumed: Promise<void>;
}

/** What a {@linkcode PartitionFetcher} needs around it. */
export interface FetcherOptions {
  connection: KafkaConnection;
  limits: FetchLimits;
  /**
   * Hands a partition's records on; the next fetch of its leader waits for it. A partition
   * returned as parked is left out of the fetches until it resumes.
   */
  handler(batch: SourceBatch): Promise<ParkedPartition | void>;
  /** The partition's earliest offset, when its position fell out of the log. */
  earliestOffset(topic: string, partition: number): Promise<number>;
  /** A failure it retries (a lost connection, a moved leader): for metrics and readiness. */
  retrying(error: Error): void;
  /** Fetching works again after failures. */
  recovered(): void;
  /** A failure that ends the stream. */
  fatal(error: Error): void;
}

/**
 * Fetches the assigned partitions from their leaders, one fetch loop per leader, and hands
 * each partition's records on in order. {@linkcode assign} sets the partitions and where to
 * read them from; {@linkcode stop} ends every loop.
 */
export class PartitionFetcher {
  readonly #options: FetcherOptions;
  /** The next offset to fetch, by `topic/partition`, of the assigned partitions. */
  #positions = new Map<string, PartitionPosition>();
  #layout?: ClusterLayout;
  #layoutStale = true;
  readonly #connections = new Map<number, Promise<BrokerConnection>>();
  readonly #loops = new Map<number, Promise<void>>();
  #stopped = false;
  #planning?: Promise<void>;
  /** Set when {@linkcode #plan} is asked for while it runs: it then runs once more. */
  #replan = false;
  #failures = 0;
  /** Parked partitions (by `topic/partition`) until they resume; kept across assignments. */
  readonly #parked = new Map<string, Promise<void>>();
  /** Settles when a partition resumes, the assignment changes or the fetcher stops. */
  #changed = Promise.withResolvers<void>();

  constructor(options: FetcherOptions) {
    this.#options = options;
  }

  /** The partitions to fetch from now on, from these offsets; loops start as needed. */
  assign(positions: readonly PartitionPosition[]): void {
    const entries = positions.map((p) => [`${p.topic}/${p.partition}`, { ...p }] as const);
    // partitions new to this fetcher first: a table just added is fetched with the next request
    // (the broker fills a response in request order), then the others in the order they had
    const order = [...this.#positions.keys()];
    const rank = (key: string) => order.indexOf(key);
    entries.sort(([a], [b]) => rank(a) - rank(b));
    this.#positions = new Map(entries);
    this.#change();
    this.#plan();
  }

  /** Wakes the loops that wait for a parked partition. */
  #change(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }

  /**
   * The fetch limits; while a partition is parked, the broker holds an empty fetch only
   * briefly: a partition that resumes meanwhile is fetched with the next request.
   */
  #limits(): FetchLimits {
    const { limits } = this.#options;
    if (this.#parked.size === 0) return limits;
    return { ...limits, maxWaitTimeInMs: Math.min(limits.maxWaitTimeInMs, PARKED_MAX_WAIT_MS) };
  }

  /** Leaves `key` out of the fetches until `resumed` settles (either way). */
  #park(key: string, resumed: Promise<void>): void {
    const parked = resumed.then(() => undefined, () => undefined).then(() => {
      if (this.#parked.get(key) === parked) this.#parked.delete(key);
      this.#change();
    });
    this.#parked.set(key, parked);
  }

  /** Where the assigned partitions will be fetched from next. */
  positions(): PartitionPosition[] {
    return [...this.#positions.values()].map((p) => ({ ...p }));
  }

  /** Ends the loops (a handler under way finishes) and closes the connections. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#change();
    for (const connection of this.#connections.values()) {
      connection.then((c) => c.close(), () => undefined);
    }
    await Promise.all(this.#loops.values());
  }

  /** Starts a loop for each leader of an assigned partition that has none (once at a time). */
  #plan(): void {
    if (this.#stopped) return;
    if (this.#planning) {
      this.#replan = true;
      return;
    }
    this.#planning = (async () => {
      do {
        this.#replan = false;
        while (!this.#stopped) {
          try {
            if (this.#layoutStale || !this.#leadersKnown()) await this.#refreshLayout();
            break;
          } catch (error) {
            if (!(await this.#backOff(error as Error))) return;
          }
        }
        for (const leader of new Set(this.#leaders().values())) {
          if (this.#loops.has(leader) || this.#stopped) continue;
          const loop = this.#loop(leader).finally(() => {
            this.#loops.delete(leader);
            this.#plan(); // its partitions may have moved to another leader
          });
          this.#loops.set(leader, loop);
        }
      } while (this.#replan && !this.#stopped);
    })().finally(() => {
      this.#planning = undefined;
      // asked for between the last check and now: a loop that ended meanwhile must start again
      if (this.#replan) this.#plan();
    });
  }

  #leaders(): Map<string, number> {
    const leaders = new Map<string, number>();
    for (const key of this.#positions.keys()) {
      const leader = this.#layout?.leaders.get(key);
      if (leader !== undefined) leaders.set(key, leader);
    }
    return leaders;
  }

  #leadersKnown(): boolean {
    return [...this.#positions.keys()].every((key) => this.#layout?.leaders.has(key));
  }

  async #refreshLayout(): Promise<void> {
    const topics = [...new Set([...this.#positions.values()].map((p) => p.topic))];
    let lastError: Error | undefined;
    // any broker answers: those known, then the bootstrap list
    const known = [...this.#layout?.brokers.keys() ?? []];
    const bootstrap = this.#options.connection.brokers.map(brokerAddress);
    for (const target of [...known, ...bootstrap]) {
      try {
        const connection = typeof target === "number"
          ? await this.#connection(target)
          : await BrokerConnection.open(target, this.#options.connection);
        const version = connection.version(API.metadata, METADATA_VERSIONS);
        const layout = parseMetadataResponse(
          await connection.request(API.metadata, version, metadataRequestBody(topics, version)),
          version,
        );
        if (typeof target !== "number") connection.close();
        this.#layout = layout;
        this.#layoutStale = false;
        if (!this.#leadersKnown()) {
          const errors = [...layout.topicErrors]
            .map(([topic, code]) => new KafkaProtocolError(`topic ${topic}`, code).message);
          throw new Error(
            `no leader yet for ${this.#leaderless().join(", ")}` +
              (errors.length ? ` (${errors.join("; ")})` : ""),
          );
        }
        return;
      } catch (error) {
        lastError = error as Error;
      }
    }
    throw lastError ?? new Error("no Kafka broker to ask for partition leaders");
  }

  #leaderless(): string[] {
    return [...this.#positions.keys()].filter((key) => !this.#layout?.leaders.has(key));
  }

  #connection(node: number): Promise<BrokerConnection> {
    let connection = this.#connections.get(node);
    if (!connection) {
      const address = this.#layout?.brokers.get(node);
      if (!address) return Promise.reject(new Error(`Kafka broker ${node} is not in the metadata`));
      connection = BrokerConnection.open(address, this.#options.connection);
      connection.catch(() => this.#connections.delete(node));
      this.#connections.set(node, connection);
    }
    return connection;
  }

  /** Fetches the partitions `leader` leads until none is left or the fetcher stops. */
  async #loop(leader: number): Promise<void> {
    while (!this.#stopped) {
      const led = [...this.#leaders()].filter(([, node]) => node === leader).map(([key]) => key);
      if (led.length === 0) return;
      const mine = led.filter((key) => !this.#parked.has(key)).map((key) =>
        this.#positions.get(key)!
      );
      if (mine.length === 0) {
        // every partition of this leader waits for its table: fetch again once one resumes
        await this.#changed.promise;
        continue;
      }
      const asked = new Map(mine.map((p) => [`${p.topic}/${p.partition}`, p.offset]));
      try {
        const connection = await this.#connection(leader);
        const version = connection.version(API.fetch, FETCH_VERSIONS);
        const response = await connection.request(
          API.fetch,
          version,
          fetchRequestBody(mine, this.#limits(), version),
        );
        for (const fetched of parseFetchResponse(response, asked, version)) {
          if (this.#stopped) return;
          await this.#handle(fetched, asked);
        }
        if (this.#failures > 0) {
          this.#failures = 0;
          this.#options.recovered();
        }
      } catch (error) {
        if (this.#stopped) return;
        if (error instanceof FetchedDataError || !isRetriableKafkaError(error)) {
          return this.#fail(error as Error);
        }
        this.#connections.get(leader)?.then((c) => c.close(), () => undefined);
        this.#connections.delete(leader);
        this.#layoutStale = true;
        // the leader may have moved: this loop ends, and planning starts the loops again
        await this.#backOff(error as Error);
        return;
      }
    }
  }

  /** One partition's part of a response: its records handed on, or its error handled. */
  async #handle(fetched: PartitionFetch, asked: ReadonlyMap<string, number>): Promise<void> {
    const key = `${fetched.topic}/${fetched.partition}`;
    const position = this.#positions.get(key);
    // reassigned meanwhile, or sought elsewhere: this response is not for it any more
    if (!position || position.offset !== asked.get(key)) return;
    switch (fetched.error) {
      case ERROR.none:
        // markers alone move the partition on too: its stored position then reaches its end
        if (fetched.count || fetched.nextOffset > position.offset) {
          const parked = await this.#options.handler(fetched);
          // its records are held by the handler: the next fetch starts after them, later
          if (parked) this.#park(key, parked.resumed);
        }
        position.offset = fetched.nextOffset;
        if (fetched.count && this.#positions.get(key) === position) {
          // to the end of the next request: the broker fills a response in request order, so
          // the partitions that got nothing this time (a table just added) come first next time
          this.#positions.delete(key);
          this.#positions.set(key, position);
        }
        return;
      case ERROR.offsetOutOfRange: {
        const earliest = await this.#options.earliestOffset(fetched.topic, fetched.partition);
        log.warn(
          `${fetched.topic}[${fetched.partition}]: offset ${position.offset} is no longer in ` +
            `Kafka (retention or a recreated topic); going on from the earliest, ${earliest}`,
        );
        position.offset = earliest;
        return;
      }
      default:
        throw new KafkaProtocolError(
          `fetching ${fetched.topic}[${fetched.partition}]`,
          fetched.error,
        );
    }
  }

  /** Ends the fetching for good: the stream stops on `error`. */
  #fail(error: Error): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#options.fatal(error);
  }

  /** Waits before the next try (the one backoff of lib/util/retry.ts); false when stopped or fatal. */
  async #backOff(error: Error): Promise<boolean> {
    if (this.#stopped) return false;
    if (isAuthenticationError(error)) {
      this.#fail(error);
      return false;
    }
    this.#failures++;
    this.#options.retrying(error);
    const delayMs = backoffDelay(this.#failures);
    log.warn(`fetching from Kafka: ${errorMessage(error)}; retrying in ${delayMs} ms`);
    await delay(delayMs);
    return !this.#stopped;
  }
}
