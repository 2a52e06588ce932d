/**
 * A steady feed of Debezium-shaped create events (ids 0, 1, 2, ...) keyed by id, so that the
 * default partitioner spreads them over every partition, as a connector's keyed records are.
 * Every id the feed counts as sent was acknowledged by all in-sync replicas (acks -1).
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import type { Producer } from "kafkajs";
import { kafkaClient } from "../../lib/kafka/client.ts";
import { errorMessage } from "../../lib/util/errors.ts";
import { delay, retry } from "../../lib/util/retry.ts";
import { BOOTSTRAP } from "../../tools/stack/config.ts";

/** Records per send, and the pause between sends: 10 every 50 ms, about 200 a second. */
const BATCH = 10;
const PACE_MS = 50;

/** Produces create events until {@linkcode stop}; `sent` counts those Kafka acknowledged. */
export class Feed {
  /** Ids 0 to `sent` - 1 are in Kafka. */
  sent = 0;
  readonly #producer: Producer;
  readonly #created: (id: number) => Buffer;
  readonly #topic: string;
  #running = true;
  #loop?: Promise<void>;
  /** Why the feed stopped by itself (a send that failed for 3 minutes). */
  failure?: Error;

  constructor(topic: string, created: (id: number) => Buffer) {
    this.#topic = topic;
    this.#created = created;
    // Not idempotent: kafkajs's idempotent producer failed for good with
    // OUT_OF_ORDER_SEQUENCE_NUMBER after a leader move here. A plain one may write a record
    // twice when a leader dies before answering; the check compares the sink with what Kafka
    // holds (tests/cluster/delivery.ts), so that is no error of cdc's.
    this.#producer = kafkaClient({ brokers: BOOTSTRAP.split(",") }, "cdc-cluster-feed").producer({
      // sees added partitions within a second (kafkajs's default: 5 minutes)
      metadataMaxAge: 1_000,
    });
  }

  /** Connects and starts producing. */
  async start(): Promise<void> {
    await this.#producer.connect();
    this.#loop = this.#run().catch((error) => {
      this.failure = error;
    });
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const ids = Array.from({ length: BATCH }, (_, i) => this.sent + i);
      // one record per send: kafkajs resends a failed send only to the brokers that did not
      // answer it, so a partition whose leader moved to a broker that had answered for
      // another partition was dropped without an error (7 of 8,450 records in a rolling
      // restart); a send of one record has one broker
      await Promise.all(ids.map((id) => this.#send(id)));
      this.sent += BATCH;
      // pacing, not synchronisation: the feed's rate, so that the sink's rows grow steadily
      await delay(PACE_MS);
    }
  }

  /** Sends the create event of `id`, again and again through a fault. */
  async #send(id: number): Promise<void> {
    const messages = [{ key: String(id), value: this.#created(id) }];
    // through a fault: kafkajs's own retries end after ~a minute of a leader moving
    await retry(() => this.#producer.send({ topic: this.#topic, messages, acks: -1 }), {
      what: `producing id ${id}`,
      timeoutMs: 180_000,
      onRetry: ({ error }) => console.warn(`feed: ${errorMessage(error)}; sending again`),
    });
  }

  /** Stops after the send under way; returns how many records Kafka holds. */
  async stop(): Promise<number> {
    this.#running = false;
    await this.#loop;
    await this.#producer.disconnect();
    if (this.failure) throw this.failure;
    return this.sent;
  }
}
