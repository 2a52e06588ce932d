/**
 * Source transactions applied whole (`cdc stream --transactions`): a change that belongs to a
 * source transaction is held apart until every change of that transaction has arrived (by
 * the counts of its END marker, lib/debezium/transactions.ts), then the whole transaction
 * joins the batch, transactions in the order of their END markers, which is the source's
 * commit order. A reader of the sink then never sees part of one, across tables too.
 *
 * Positions move only past what has joined the batch: each partition's records wait in a
 * queue of holds (one per transaction, or for changes outside one that came after a held
 * one), and the batch's position of a partition stops at its first hold; the transaction
 * topic's stops at its first END not applied yet. A crash loses what is held and nothing
 * else: it is read again.
 *
 * Edges, each decided here (docs/transactions.md):
 * - a change without a transaction (a snapshot read; a connector without the metadata) is
 *   applied as it comes, after whatever its partition holds;
 * - an END whose table is not streamed here counts nothing of that table;
 * - a transaction whose END never comes (a later END came first, or everything is read and
 *   it stayed incomplete for `timeoutMs`), or whose changes never all come (everything is
 *   read, `timeoutMs` passed), is applied as far as it arrived, and said so;
 * - past `maxHeldBytes` held, the oldest held transaction is applied in parts (memory is
 *   bounded; that transaction alone is not atomic), and said so;
 * - a late change of a transaction applied already is applied as it comes.
 *
 * Pure: its clock, the batch it releases into and the lag it asks about are given.
 *
 * @module
 */
import type { Envelope } from "../debezium/envelope.ts";
import type { TransactionMarker } from "../debezium/transactions.ts";
import { BatchBuffer, type BufferMark } from "../sink/batch.ts";

/** What the assembler tells (for the log and metrics). */
export interface AssemblerEvents {
  /** A transaction joined the batch whole: its id and how many changes it had here. */
  applied?(id: string, changes: number): void;
  /** A transaction joined incomplete or in parts: why. */
  forced?(id: string, changes: number, reason: string): void;
}

/** What a {@linkcode TransactionAssembler} works with. */
export interface AssemblerOptions {
  /** The batch whole transactions join. */
  main: BatchBuffer;
  /** The connector's transaction topic. */
  transactionTopic: string;
  /** The topic of each data collection (`<database>.<table>`) streamed here. */
  topicOf: ReadonlyMap<string, string>;
  /** Past this many bytes held, the oldest held transaction is applied in parts. */
  maxHeldBytes: number;
  /** How long a transaction may stay incomplete once everything there is has been read. */
  timeoutMs: number;
  now: () => number;
  /** True when every partition of `topic` has been read to its end (as of the last fetch). */
  caughtUp(topic: string): boolean;
  /**
   * Give the rows of a whole transaction one source time (scd2, whose versions' validity starts
   * there): its latest change's, never before the transaction applied before it. Else a query
   * "as of" an instant between two of its statements' times would see part of it.
   */
  oneInstant?: boolean;
  events?: AssemblerEvents;
}

/**
 * A data partition's records held behind a transaction, in offset order: its holds, and the
 * rows of all of them in one staging buffer (a transaction's rows there are a range: no
 * buffer of its own, which with a backlog of tens of thousands held cost more than the rows).
 */
interface Lane {
  topic: string;
  /** Its topic's index in the arrays of {@linkcode Held}. */
  topicIndex: number;
  partition: number;
  holds: Fifo<Hold>;
  staging: BatchBuffer;
  /** Its staging's bytes when last measured, and whether it was written to since. */
  bytes: number;
  grown: boolean;
  /** The transaction of its latest change (a later one proves earlier ones read). */
  latest?: Held;
  /**
   * Where the rows applied and not yet moved into the batch end in its staging, and the
   * partition's next offset past them (-1: none); see {@linkcode TransactionAssembler.release}.
   */
  appliedEnd?: BufferMark;
  appliedNext: number;
}

/**
 * A source transaction being held. A backlog holds thousands at once, each kept past several
 * young-generation collections: no maps and no arrays grown by pushes (which take room for 17
 * items), only arrays made at their length and holds linked to each other.
 */
interface Held {
  id: string;
  /** Its distinct changes so far, by topic index (a re-sent change counts once: see `Hold`). */
  seen: number[];
  changes: number;
  /** Set once its END arrived: its changes by topic index (of the topics streamed here). */
  expected?: number[];
  /** When it was first seen, or its END arrived, for the timeout. */
  since: number;
  /**
   * Its holds in their lanes' queues, in the order made, linked by `nextOfHeld` (so applying
   * it does not walk whole queues); their lanes are where its records wait.
   */
  firstHold?: Hold;
  lastHold?: Hold;
  /** Its ENDs not applied yet, in commit order (one, unless the END was sent again). */
  ends: End[];
}

/** Records of one partition waiting behind a transaction: its own, or changes outside one. */
interface Hold {
  /** The transaction, or undefined for changes outside one. */
  held?: Held;
  lane: Lane;
  /** The partition's next offset once this hold is applied. */
  next: number;
  /** Where its rows end in its lane's staging; unset while it is the lane's last hold. */
  end?: BufferMark;
  /**
   * The highest `data_collection_order` of its transaction seen in its lane so far: a partition
   * has a transaction's changes in that order, so a lower or equal one is one sent again.
   */
  highest?: number;
  /** Its transaction's next hold. */
  nextOfHeld?: Hold;
}

/** An END seen, where it is in the transaction topic. */
interface End {
  held: Held;
  partition: number;
  offset: number;
  /** Its place in commit order (among the ENDs seen). */
  seq: number;
  /** Set once its transaction is applied (it leaves the queue of ENDs when it leads it). */
  done?: boolean;
}

/**
 * A first-in first-out queue whose `shift` takes constant time: with a backlog, tens of
 * thousands of transactions are held at once (the transaction topic and the smaller tables' topics
 * are read far ahead of the largest), and each one applied must not cost a walk over the others.
 */
class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  first(): T | undefined {
    return this.#items[this.#head];
  }

  last(): T | undefined {
    return this.length > 0 ? this.#items[this.#items.length - 1] : undefined;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** The first item that `test` accepts. */
  find(test: (item: T) => boolean): T | undefined {
    for (let i = this.#head; i < this.#items.length; i++) {
      if (test(this.#items[i]!)) return this.#items[i];
    }
    return undefined;
  }
}

/** The most recent ids applied, so that a late change of one is not held again. */
const REMEMBERED = 10_000;

/**
 * Held past this many bytes (or a quarter of `maxHeldBytes`, if less), a topic that the next
 * transaction to apply needs nothing more from waits before it is read further (see
 * {@linkcode TransactionAssembler.readAhead}). Enough for a few fetches of every topic.
 */
const READ_AHEAD_BYTES = 8 * 1024 * 1024;

/**
 * What a held transaction costs besides its rows' text (its object, holds, marks and END: a few
 * hundred bytes), as {@linkcode TransactionAssembler.readAhead} counts it, high: a backlog's
 * transaction topic makes one for each END read, before any of its changes, and so stops after a
 * few thousand.
 */
const HELD_OVERHEAD_BYTES = 2048;

/** Holds source transactions until they are whole, and applies them in commit order. */
export class TransactionAssembler {
  readonly #options: AssemblerOptions;
  readonly #held = new Map<string, Held>();
  /** Each topic's lanes, by partition. */
  readonly #lanes = new Map<string, Lane[]>();
  /** The topics seen, in the order of their index (see {@linkcode Held}). */
  readonly #topics: string[] = [];
  readonly #topicIndex = new Map<string, number>();
  /**
   * ENDs seen and not applied yet, in commit order (an END applied out of order stays, `done`,
   * until it leads); the first is never `done`.
   */
  readonly #ends = new Fifo<End>();
  #endsSeen = 0;
  /** ENDs not applied yet, per partition of the transaction topic. */
  readonly #endsWaiting = new Map<number, number>();
  /**
   * Bytes held, as the lanes' stagings were last measured, and the lanes written to since
   * (measured again when next asked).
   */
  #heldBytes = 0;
  readonly #grown: Lane[] = [];
  /** The lanes with rows applied and not yet moved into the batch. */
  readonly #unsettled: Lane[] = [];
  /** The transaction topic's next offset read, per partition. */
  readonly #markersRead = new Map<number, number>();
  readonly #applied = new Set<string>();
  /**
   * The same ids in the order applied, to forget the oldest by: a set's own oldest, found by
   * iterating it, is found past every id deleted before it until the set is rebuilt.
   */
  readonly #appliedOrder: string[] = [];
  #appliedNext = 0;
  /** The source time given to the last whole transaction (see `oneInstant`). */
  #instant?: string;
  /** Topics told to wait by {@linkcode readAhead}, each with what settles when it may go on. */
  readonly #waiting = new Map<string, PromiseWithResolvers<void>>();

  constructor(options: AssemblerOptions) {
    this.#options = options;
  }

  /** True while anything is held (a transaction, or changes waiting behind one). */
  get holdsAnything(): boolean {
    return this.#held.size > 0 || this.#ends.length > 0;
  }

  /** Source transactions held, and their changes. */
  get holding(): { transactions: number; changes: number; bytes: number } {
    let changes = 0;
    for (const held of this.#held.values()) changes += held.changes;
    return { transactions: this.#held.size, changes, bytes: this.#bytesHeld() };
  }

  /**
   * Where the change at `offset` of a data partition goes: its partition's staging (in its
   * transaction, or outside one behind a held transaction), or the batch itself. Also where a
   * bad record's dead letter goes (`envelope` undefined).
   */
  destination(
    topic: string,
    partition: number,
    envelope: Envelope | undefined,
  ): BatchBuffer {
    const lane = this.#lane(topic, partition);
    const transaction = envelope?.transaction;
    // the usual case, the next change of the transaction its partition holds last, is told by
    // comparing ids (no hashing); a late change of one applied already goes as outside one
    let held = transaction && lane.holds.last()?.held;
    if (transaction && held?.id !== transaction.id) {
      const id = transaction.id;
      held = this.#held.get(id) ?? (this.#applied.has(id) ? undefined : this.#newHeld(id));
      if (held) this.#hold(lane, held);
    }
    if (transaction && held) {
      const hold = lane.holds.last()!;
      const order = Number(transaction.data_collection_order);
      if (hold.highest === undefined || order > hold.highest) {
        hold.highest = order;
        held.seen[lane.topicIndex] = (held.seen[lane.topicIndex] ?? 0) + 1;
      }
      held.changes++;
      lane.latest = held;
      this.#grew(lane);
      return lane.staging;
    }
    if (lane.holds.length === 0) return this.#options.main;
    if (lane.holds.last()!.held) this.#hold(lane, undefined);
    this.#grew(lane);
    return lane.staging;
  }

  /** A data partition is read up to `next` (a record handled, or markers passed). */
  advance(topic: string, partition: number, next: number): void {
    const lane = this.#lane(topic, partition);
    if (lane.holds.length === 0) this.#options.main.advance(topic, partition, next);
    else lane.holds.last()!.next = next;
  }

  /** A record of the transaction topic at `offset`: BEGIN (nothing to do) or END. */
  marker(partition: number, offset: number, marker: TransactionMarker): void {
    if (marker.status === "END" && !this.#applied.has(marker.id)) {
      // (indexed loops: no iterator and no closures for each of thousands of ENDs)
      const { topicOf } = this.#options;
      const collections = marker.dataCollections;
      let streamed = false;
      for (let c = 0; c < collections.length; c++) {
        const topic = topicOf.get(collections[c].data_collection);
        if (!topic || !(Number(collections[c].event_count) > 0)) continue;
        this.#indexOf(topic); // indexed before `expected` is made at the number of topics
        streamed = true;
      }
      // Debezium marks every transaction of the server, cdc's own writes included: one that
      // changed nothing streamed here is nothing to wait for
      if (streamed || this.#held.has(marker.id)) {
        const held = this.#heldOf(marker.id);
        const expected = held.expected = this.#perTopic();
        for (let c = 0; c < collections.length; c++) {
          const topic = topicOf.get(collections[c].data_collection);
          const count = Number(collections[c].event_count);
          if (topic && count > 0) expected[this.#indexOf(topic)] += count;
        }
        held.since = this.#options.now();
        // first: the topic's position must not pass an END whose transaction is not applied
        const end: End = { held, partition, offset, seq: this.#endsSeen++ };
        this.#ends.push(end);
        if (held.ends.length === 0) held.ends = [end];
        else held.ends.push(end);
        this.#endsWaiting.set(partition, (this.#endsWaiting.get(partition) ?? 0) + 1);
      }
    }
    this.markersRead(partition, offset + 1);
  }

  /** The transaction topic is read up to `next` in `partition`. */
  markersRead(partition: number, next: number): void {
    this.#markersRead.set(partition, Math.max(next, this.#markersRead.get(partition) ?? 0));
    if (!this.#endsWaiting.get(partition)) {
      // quiet: storing it alone would be a write, whose own markers would come back
      this.#options.main.advance(this.#options.transactionTopic, partition, next, true);
    }
  }

  /**
   * Applies whatever can be: whole transactions in commit order, then (by the edges above)
   * transactions that will not complete, or the oldest one in parts past the memory bound.
   * The rows applied move into the batch once for each partition, at the end: a backlog
   * applies hundreds of transactions at once, and moving each one's few rows on its own was
   * most of applying it.
   */
  release(): void {
    for (;;) {
      const next = this.#next();
      if (!next) break;
      // what leads a partition it waits in goes first, keeping each partition's order
      const [held, reason] = this.#leading(next.held, next.reason);
      this.#apply(held, reason);
    }
    for (const [topic, waiting] of this.#waiting) {
      if (this.#mayWait(topic, 0.5)) continue;
      this.#waiting.delete(topic);
      waiting.resolve();
    }
  }

  /**
   * Whether a partition of `topic`, just read, should wait before it is read further: a
   * promise that settles when it may go on, or undefined. With a backlog, a topic of few
   * changes per transaction (orders) is read far ahead of one of many (their lines); each
   * transaction then waits, held, for the other topic to come, and memory and garbage
   * collection grow with the distance (issue 22.6 measured 0.55 of the rate without
   * `--transactions` so, at 2.3x the memory); the transaction topic, read first, is the
   * farthest ahead. A topic waits only while more than a few fetches' worth is held and the
   * next transaction to apply needs nothing more from it; it goes on once it does, or once
   * half of that is held.
   */
  readAhead(topic: string): Promise<void> | undefined {
    if (!this.#mayWait(topic, 1)) return undefined;
    let waiting = this.#waiting.get(topic);
    if (!waiting) this.#waiting.set(topic, waiting = Promise.withResolvers<void>());
    return waiting.promise;
  }

  /**
   * Whether `topic` may wait (see {@linkcode readAhead}) with more than `share` of the limit
   * held: never while the next transaction to apply needs a change of it, nor while no END
   * waits (the transaction topic has to be read on).
   */
  #mayWait(topic: string, share: number): boolean {
    const limit = Math.min(READ_AHEAD_BYTES, this.#options.maxHeldBytes / 4) * share;
    if (this.#bytesHeld() + this.#held.size * HELD_OVERHEAD_BYTES <= limit) return false;
    const next = this.#ends.first()?.held;
    const expected = next?.expected;
    if (!next || !expected) return false;
    const t = this.#indexOf(topic);
    return (next.seen[t] ?? 0) >= (expected[t] ?? 0);
  }

  /** The transaction to apply next, and why when it is not whole; undefined: none yet. */
  #next(): { held: Held; reason?: string } | undefined {
    const end = this.#ends.first();
    if (end && this.#complete(end.held)) return { held: end.held };
    // what is applied leaves the stagings before the edges below measure what is held
    this.#settle();
    const stuck = end ? this.#stuck(end.held) : this.#endless();
    if (stuck) return stuck;
    if (this.#bytesHeld() <= this.#options.maxHeldBytes) return undefined;
    const oldest = this.#oldest();
    return oldest && {
      held: oldest,
      reason: `more than ${this.#options.maxHeldBytes} bytes of changes were held: applied in ` +
        `parts (the bound of --transaction-buffer)`,
    };
  }

  /**
   * `held`, or the transaction ahead of it in one of its partitions (and so on): that one's
   * END should have come before `held`'s, so it never will.
   */
  #leading(held: Held, reason: string | undefined): [Held, string | undefined] {
    let visited: Set<Held> | undefined; // made only past the usual case: `held` leads
    for (;;) {
      let ahead: Held | undefined;
      for (let hold = held.firstHold; hold; hold = hold.nextOfHeld) {
        const head = hold.lane.holds.first()?.held;
        if (head && head !== held) ahead = head;
      }
      if (!ahead) return [held, reason];
      (visited ??= new Set()).add(held);
      held = ahead;
      reason = ahead.expected
        ? "a change of a later transaction came before it"
        : "its END never came: a later transaction's END did";
      if (visited.has(held)) return [held, reason];
    }
  }

  #lane(topic: string, partition: number): Lane {
    let lanes = this.#lanes.get(topic);
    if (!lanes) this.#lanes.set(topic, lanes = []);
    return lanes[partition] ??= {
      topic,
      topicIndex: this.#indexOf(topic),
      partition,
      holds: new Fifo(),
      staging: new BatchBuffer(this.#options.now),
      bytes: 0,
      grown: false,
      appliedNext: -1,
    };
  }

  /** An array of a number per topic seen, each 0. */
  #perTopic(): number[] {
    const counts = new Array<number>(this.#topics.length);
    for (let t = 0; t < counts.length; t++) counts[t] = 0; // (`fill` costs more for so few)
    return counts;
  }

  #indexOf(topic: string): number {
    let i = this.#topicIndex.get(topic);
    if (i === undefined) this.#topicIndex.set(topic, i = this.#topics.push(topic) - 1);
    return i;
  }

  /** A new hold at the end of `lane`: the one before it ends where its staging is now. */
  #hold(lane: Lane, held: Held | undefined): void {
    const last = lane.holds.last();
    if (last) last.end = lane.staging.mark();
    const hold: Hold = { held, lane, next: -1 };
    lane.holds.push(hold);
    if (!held) return;
    // its changes seen in this lane before another transaction's came between (rare)
    for (let earlier = held.firstHold; earlier; earlier = earlier.nextOfHeld) {
      if (earlier.lane === lane) hold.highest = earlier.highest;
    }
    if (held.lastHold) held.lastHold.nextOfHeld = hold;
    else held.firstHold = hold;
    held.lastHold = hold;
  }

  /** The bytes held, measuring only the lanes written to since last time. */
  #bytesHeld(): number {
    for (const lane of this.#grown) {
      lane.grown = false;
      this.#measure(lane);
    }
    this.#grown.length = 0;
    return this.#heldBytes;
  }

  /** `lane`'s staging is written to: measured again when the bytes held are next asked. */
  #grew(lane: Lane): void {
    if (lane.grown) return; // (a flag: a set's look-up for every change cost more)
    lane.grown = true;
    this.#grown.push(lane);
  }

  #measure(lane: Lane): void {
    const bytes = lane.staging.approximateBytes;
    this.#heldBytes += bytes - lane.bytes;
    lane.bytes = bytes;
  }

  #heldOf(id: string): Held {
    return this.#held.get(id) ?? this.#newHeld(id);
  }

  #newHeld(id: string): Held {
    const held: Held = {
      id,
      seen: this.#perTopic(),
      changes: 0,
      since: this.#options.now(),
      ends: [],
    };
    this.#held.set(id, held);
    return held;
  }

  /**
   * Every change its END counts has arrived (each counted once), or cannot be still to come:
   * see {@linkcode #passed}.
   */
  #complete(held: Held): boolean {
    const expected = held.expected;
    if (!expected) return false;
    for (let t = 0; t < expected.length; t++) {
      const count = expected[t];
      if (count && (held.seen[t] ?? 0) < count && !this.#passed(held, this.#topics[t])) {
        return false;
      }
    }
    return true;
  }

  /**
   * True when reading has passed every place of `topic` where `held`'s changes could be: each
   * partition's latest change belongs to a transaction that commits after it, and partitions
   * are read in commit order. Its changes that did not arrive were behind where reading began
   * (applied already: the sink was emptied, the transaction topic is read again from its
   * start) or are lost; waiting for them would hold the stream for nothing.
   */
  #passed(held: Held, topic: string): boolean {
    // no END yet: it commits after every END seen
    const order = (h: Held) => h.ends[0]?.seq ?? Infinity;
    let partitions = 0;
    for (const lane of this.#lanes.get(topic) ?? []) {
      const latest = lane?.latest;
      if (!latest) continue;
      partitions++;
      if (latest === held || !this.#held.has(latest.id) || order(latest) < order(held)) {
        return false;
      }
    }
    return partitions > 0;
  }

  /**
   * The head END's transaction when its missing changes cannot come: everything of the topics
   * missing some has been read, for `timeoutMs` since its END arrived.
   */
  #stuck(held: Held): { held: Held; reason: string } | undefined {
    const missing = this.#topics.filter((_, t) => (held.seen[t] ?? 0) < (held.expected![t] ?? 0));
    if (!missing.every((topic) => this.#options.caughtUp(topic))) return undefined;
    if (this.#options.now() - held.since < this.#options.timeoutMs) return undefined;
    return {
      held,
      reason: `changes of ${missing.join(", ")} were still missing ${
        this.#options.timeoutMs / 1000
      }s after its END, with every partition read to its end`,
    };
  }

  /**
   * A held transaction that has no END and will get none: with no END waiting at all, the
   * transaction topic read to its end, and the transaction idle for `timeoutMs`.
   */
  #endless(): { held: Held; reason: string } | undefined {
    if (!this.#options.caughtUp(this.#options.transactionTopic)) return undefined;
    const now = this.#options.now();
    for (const held of this.#heads()) {
      if (!held.expected && now - held.since >= this.#options.timeoutMs) {
        return {
          held,
          reason: `no END came within ${
            this.#options.timeoutMs / 1000
          }s with the transaction topic read to its end`,
        };
      }
    }
    return undefined;
  }

  /** The held transaction first seen, among those at the head of a partition. */
  #oldest(): Held | undefined {
    let oldest: Held | undefined;
    for (const held of this.#heads()) {
      if (!oldest || held.since < oldest.since) oldest = held;
    }
    return oldest;
  }

  /** The transactions at the head of a partition. */
  *#heads(): Iterable<Held> {
    for (const lanes of this.#lanes.values()) {
      for (const lane of lanes) {
        const held = lane?.holds.first()?.held;
        if (held) yield held;
      }
    }
  }

  /**
   * Moves a transaction into the batch (`reason` set: it is incomplete or applied in parts),
   * then the holds behind it that hold changes outside a transaction, and moves each
   * partition's position on as far as nothing is held before it.
   */
  #apply(held: Held, reason?: string): void {
    const { main, events } = this.#options;
    const start = this.#options.oneInstant && !reason ? main.mark() : undefined;
    // its holds behind another transaction's (possible only past the edges above) stay
    // where they are, and are applied as changes outside a transaction once they lead
    let behind: string | undefined;
    for (let hold = held.firstHold; hold; hold = hold.nextOfHeld) {
      hold.held = undefined;
      if (hold.lane.holds.first() === hold) this.#applyHold(hold.lane.holds.shift()!);
      else behind ??= `part of it waits behind another transaction in ${hold.lane.topic}`;
    }
    reason ??= behind;
    if (start && !reason) this.#instant = main.alignSourceTimes(this.#instant, start);
    if (reason) events?.forced?.(held.id, held.changes, reason);
    else events?.applied?.(held.id, held.changes);
    for (let hold = held.firstHold; hold; hold = hold.nextOfHeld) this.#drain(hold.lane);
    const end = held.ends.shift();
    if (end) {
      end.done = true;
      this.#endsWaiting.set(end.partition, this.#endsWaiting.get(end.partition)! - 1);
      while (this.#ends.first()?.done) this.#ends.shift();
      // the next END of its partition not applied (the first, where there is one partition)
      const next = this.#ends.find((e) => !e.done && e.partition === end.partition)?.offset ??
        this.#markersRead.get(end.partition);
      if (next !== undefined) {
        main.advance(this.#options.transactionTopic, end.partition, next, true);
      }
    }
    this.#held.delete(held.id);
    this.#applied.add(held.id);
    const forgotten = this.#appliedOrder[this.#appliedNext];
    if (forgotten !== undefined) this.#applied.delete(forgotten);
    this.#appliedOrder[this.#appliedNext] = held.id;
    this.#appliedNext = (this.#appliedNext + 1) % REMEMBERED;
  }

  /** Applies the holds at the head of a lane that wait for no transaction. */
  #drain(lane: Lane): void {
    while (lane.holds.length > 0 && !lane.holds.first()!.held) {
      this.#applyHold(lane.holds.shift()!);
    }
  }

  /**
   * Applies a hold, the first of its lane: its rows (the first of the lane's staging) and its
   * position join the batch with {@linkcode #settle}, or at once where the rows of a whole
   * transaction get one source time (`oneInstant`), which needs them in the batch.
   */
  #applyHold(hold: Hold): void {
    const { lane } = hold;
    if (!lane.appliedEnd) this.#unsettled.push(lane);
    // a lane's last hold ends where its staging does now: nothing was staged behind it
    lane.appliedEnd = hold.end ?? lane.staging.mark();
    if (hold.next >= 0) lane.appliedNext = hold.next;
    if (this.#options.oneInstant) this.#settle();
  }

  /** Moves the rows applied since last time into the batch, each lane's at once. */
  #settle(): void {
    const { main } = this.#options;
    for (const lane of this.#unsettled) {
      main.absorb(lane.staging, lane.appliedEnd);
      if (lane.appliedNext >= 0) main.advance(lane.topic, lane.partition, lane.appliedNext);
      lane.appliedEnd = undefined;
      lane.appliedNext = -1;
      this.#measure(lane);
    }
    this.#unsettled.length = 0;
  }
}
