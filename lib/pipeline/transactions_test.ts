import assert from "node:assert/strict";
import type { Envelope } from "../debezium/envelope.ts";
import type { TransactionMarker } from "../debezium/transactions.ts";
import { BatchBuffer, type SinkBatch } from "../sink/batch.ts";
import { targetOf } from "../sink/testing.ts";
import { type AssemblerOptions, TransactionAssembler } from "./transactions.ts";

const A = "p.db.a", B = "p.db.b", T = "p.transaction";
const TARGETS: Record<string, ReturnType<typeof targetOf>> = {
  [A]: targetOf("a_cdc", A, ["v"]),
  [B]: targetOf("b_cdc", B, ["v"]),
};

/** An assembler over tables a and b (c is captured, not streamed here), and its batch. */
function setup(options: Partial<AssemblerOptions> = {}) {
  let clock = 0;
  const caughtUp = new Set<string>();
  const said: string[] = [];
  const main = new BatchBuffer(() => clock);
  const assembler = new TransactionAssembler({
    main,
    transactionTopic: T,
    topicOf: new Map([["db.a", A], ["db.b", B]]),
    maxHeldBytes: 1 << 20,
    timeoutMs: 10_000,
    now: () => clock,
    caughtUp: (topic) => caughtUp.has(topic),
    events: {
      applied: (id, n) => said.push(`applied ${id} (${n})`),
      forced: (id, n, reason) => said.push(`forced ${id} (${n}): ${reason}`),
    },
    ...options,
  });
  /**
   * A change of `topic` at `offset` (partition 0), in transaction `tx` (order `n`) or none, made
   * on the source at `sourceTs`.
   */
  const change = (topic: string, offset: number, tx?: string, n = 1, sourceTs?: string) => {
    const envelope: Envelope = {
      op: "c",
      transaction: tx ? { id: tx, total_order: n, data_collection_order: n } : null,
    };
    const into = assembler.destination(topic, 0, envelope);
    into.addRow(TARGETS[topic], [
      `${tx ?? "-"}@${offset}`,
      "c",
      null,
      sourceTs ?? null,
      null,
      0,
      offset,
    ]);
    assembler.advance(topic, 0, offset + 1);
    assembler.release();
  };
  const marker = (offset: number, value: TransactionMarker) => {
    assembler.marker(0, offset, value);
    assembler.release();
  };
  const end = (offset: number, id: string, counts: Record<string, number>) =>
    marker(offset, {
      status: "END",
      id,
      eventCount: Object.values(counts).reduce((a, b) => a + b, 0),
      dataCollections: Object.entries(counts).map(([data_collection, event_count]) => ({
        data_collection,
        event_count,
      })),
    });
  /** What the batch holds now, rows by topic, and its positions. */
  const batch = () => {
    const drained: SinkBatch = main.drain();
    const rows = Object.fromEntries(
      drained.tables.map((t) => [t.topic, t.rows.map((r) => r[0])]),
    );
    const positions = Object.fromEntries(
      [...drained.positions].map(([topic, p]) => [topic, p.get(0)]),
    );
    return { rows, positions };
  };
  /** The source times of the rows the batch holds now, by topic. */
  const sourceTimes = () =>
    Object.fromEntries(
      main.drain().tables.map((t) => [t.topic, t.rows.map((r) => r[t.layout.sourceTs])]),
    );
  return {
    assembler,
    change,
    sourceTimes,
    marker,
    end,
    batch,
    said,
    caughtUp,
    tick: (ms: number) => {
      clock += ms;
      assembler.release();
    },
  };
}

Deno.test("TransactionAssembler: a transaction over two tables joins the batch whole", () => {
  const t = setup();
  t.marker(0, { status: "BEGIN", id: "x" });
  t.change(A, 0, "x", 1);
  t.change(B, 0, "x", 1);
  assert.deepEqual(t.batch(), { rows: {}, positions: { [T]: 1 } }, "held: only BEGIN passed");
  t.change(A, 1, "x", 2);
  t.end(1, "x", { "db.a": 2, "db.b": 1, "db.c": 5 }); // db.c is not streamed here
  assert.deepEqual(t.batch(), {
    rows: { [A]: ["x@0", "x@1"], [B]: ["x@0"] },
    positions: { [A]: 2, [B]: 1, [T]: 2 },
  });
  assert.deepEqual(t.said, ["applied x (3)"]);
});

Deno.test("TransactionAssembler: transactions applied at once join the batch in their partition's order", () => {
  const t = setup();
  t.change(A, 0, "x", 1);
  t.change(A, 1, "y", 1);
  t.change(A, 2); // outside a transaction, behind y
  t.change(B, 0, "y", 1);
  // both ENDs read before the assembler is asked to apply: one release applies both
  for (const [offset, id] of [[0, "x"], [1, "y"]] as const) {
    t.assembler.marker(0, offset, {
      status: "END",
      id,
      eventCount: id === "x" ? 1 : 2,
      dataCollections: [{ data_collection: "db.a", event_count: 1 }].concat(
        id === "y" ? [{ data_collection: "db.b", event_count: 1 }] : [],
      ),
    });
  }
  t.assembler.release();
  t.change(A, 3); // nothing held before it: straight into the batch, after the rest
  assert.deepEqual(t.batch(), {
    rows: { [A]: ["x@0", "y@1", "-@2", "-@3"], [B]: ["y@0"] },
    positions: { [A]: 4, [B]: 1, [T]: 2 },
  });
  assert.deepEqual(t.said, ["applied x (1)", "applied y (2)"]);
});

Deno.test("TransactionAssembler: an END before its changes waits for them; a re-sent change counts once", () => {
  const t = setup();
  t.end(0, "x", { "db.a": 2 });
  t.change(A, 0, "x", 1);
  t.change(A, 1, "x", 1); // the same change again (a connector restart re-sent it)
  assert.deepEqual(t.batch(), { rows: {}, positions: {} });
  t.change(A, 2, "x", 2);
  assert.deepEqual(t.batch(), {
    rows: { [A]: ["x@0", "x@1", "x@2"] },
    positions: { [A]: 3, [T]: 1 },
  });
});

Deno.test("TransactionAssembler: transactions apply in commit order, several per batch", () => {
  const t = setup();
  t.change(A, 0, "y", 1); // y's change arrives first (another partition, read sooner)
  t.end(0, "x", { "db.b": 1 });
  t.end(1, "y", { "db.a": 1 });
  assert.deepEqual(t.batch(), { rows: {}, positions: {} }, "y is whole, but x commits first");
  t.change(B, 0, "x", 1);
  assert.deepEqual(t.batch(), {
    rows: { [B]: ["x@0"], [A]: ["y@0"] },
    positions: { [A]: 1, [B]: 1, [T]: 2 },
  });
  assert.deepEqual(t.said, ["applied x (1)", "applied y (1)"]);
});

Deno.test("TransactionAssembler: changes outside a transaction pass, or wait behind one", () => {
  const t = setup();
  t.change(A, 0); // a snapshot read
  assert.deepEqual(t.batch(), { rows: { [A]: ["-@0"] }, positions: { [A]: 1 } });
  t.change(A, 1, "x", 1);
  t.change(A, 2); // after x in a's partition: waits for it
  t.change(B, 0); // nothing held in b's: passes
  assert.deepEqual(t.batch(), { rows: { [B]: ["-@0"] }, positions: { [B]: 1 } });
  t.end(0, "x", { "db.a": 1 });
  assert.deepEqual(t.batch(), {
    rows: { [A]: ["x@1", "-@2"] },
    positions: { [A]: 3, [T]: 1 },
  });
});

Deno.test("TransactionAssembler: a transaction whose END never comes goes when a later END does", () => {
  const t = setup();
  t.change(A, 0, "lost", 1); // its END was deleted by retention, say
  t.change(A, 1, "y", 1);
  t.end(0, "y", { "db.a": 1 });
  assert.deepEqual(t.batch().rows, { [A]: ["lost@0", "y@1"] });
  assert.match(t.said[0], /^forced lost \(1\): its END never came: a later transaction's END did/);
  assert.deepEqual(t.said[1], "applied y (1)");
});

Deno.test("TransactionAssembler: a transaction's change behind another's in its partition waits for it", () => {
  // not from one Debezium connector (it writes a transaction's changes together): the partition's
  // order holds, and the transaction is said not to be whole
  const t = setup();
  t.change(A, 0, "x", 1);
  t.change(A, 1, "y", 1);
  t.change(A, 2, "x", 2);
  t.end(0, "x", { "db.a": 2 });
  assert.deepEqual(t.batch(), { rows: { [A]: ["x@0"] }, positions: { [A]: 1, [T]: 1 } });
  assert.match(t.said[0], /^forced x \(2\): part of it waits behind another transaction in p.db.a/);
  t.end(1, "y", { "db.a": 1 });
  assert.deepEqual(t.batch(), { rows: { [A]: ["y@1", "x@2"] }, positions: { [A]: 3, [T]: 2 } });
  assert.deepEqual(t.said[1], "applied y (1)");
});

Deno.test("TransactionAssembler: incomplete past the timeout, with everything read, it goes as it is", () => {
  const t = setup();
  t.change(A, 0, "x", 1);
  t.end(0, "x", { "db.a": 2 }); // one change never comes (filtered out upstream, say)
  t.tick(60_000);
  assert.deepEqual(t.batch().rows, {}, "a's partition is not read to its end: it may come");
  t.caughtUp.add(A);
  t.tick(1);
  assert.deepEqual(t.batch().rows, { [A]: ["x@0"] });
  assert.match(
    t.said[0],
    /forced x \(1\): changes of p\.db\.a were still missing 10s after its END/,
  );

  // no END at all: once the transaction topic is read to its end, after the timeout
  t.change(B, 0, "w", 1);
  t.tick(60_000);
  assert.deepEqual(t.batch().rows, {});
  t.caughtUp.add(T);
  t.tick(1);
  assert.deepEqual(t.batch().rows, { [B]: ["w@0"] });
  assert.match(t.said[1], /forced w \(1\): no END came within 10s/);
  // a late change of a transaction applied already is applied as it comes
  t.change(B, 1, "w", 2);
  assert.deepEqual(t.batch().rows, { [B]: ["w@1"] });
});

Deno.test("TransactionAssembler: past the memory bound the oldest transaction is applied in parts", () => {
  const t = setup({ maxHeldBytes: 1_000 });
  for (let i = 0; i < 5; i++) t.change(A, i, "big", i + 1);
  assert.deepEqual(t.batch().rows, {}, "under the bound: held");
  let i = 5;
  while (t.said.length === 0) t.change(A, i, "big", ++i);
  assert.match(t.said[0], /forced big \(\d+\): more than 1000 bytes of changes were held/);
  const { rows, positions } = t.batch();
  assert.equal(rows[A].length, i, "every change so far");
  assert.equal(positions[A], i, "the position moves with what was applied");
  for (; i < 40; i++) t.change(A, i, "big", i + 1);
  assert.equal(t.batch().rows[A].length, 40 - rows[A].length, "later ones pass as they come");
  // the rest of it passes as it comes; its END changes nothing
  t.end(0, "big", { "db.a": 40 });
  assert.deepEqual(t.batch().positions, { [T]: 1 });
  assert.equal(t.said.length, 1);
});

Deno.test("TransactionAssembler: an END that changed nothing streamed here waits for nothing, quietly", () => {
  const t = setup();
  // Debezium marks every transaction of the server, the sink's own writes among them
  t.marker(0, { status: "BEGIN", id: "sink" });
  t.end(1, "sink", {});
  t.end(2, "other", { "db.c": 3 });
  const main = t.batch();
  assert.deepEqual(main, { rows: {}, positions: { [T]: 3 } });
  assert.deepEqual(t.said, [], "no transaction of ours");
  assert.equal(t.assembler.holdsAnything, false);
});

Deno.test("TransactionAssembler: an END whose changes were applied before reading began waits for nothing", () => {
  // the transaction topic is read from its start (the sink was emptied of it), the tables'
  // topics from their stored positions: "old"'s changes are behind those positions
  const t = setup();
  t.end(0, "old", { "db.a": 2 });
  t.change(A, 10, "new", 1); // a later transaction's change in old's partition of a
  t.end(1, "new", { "db.a": 1 });
  assert.deepEqual(t.batch().rows, { [A]: ["new@10"] });
  assert.deepEqual(t.said, ["applied old (0)", "applied new (1)"]);
});

Deno.test("TransactionAssembler: with oneInstant, a whole transaction's rows take one source time, in commit order", () => {
  const at = (seconds: string) => `2026-12-07 10:00:${seconds}`;
  for (const oneInstant of [true, false]) {
    const t = setup({ oneInstant });
    t.change(A, 0, "x", 1, at("01.000"));
    t.change(B, 0, "x", 1, at("02.000")); // x's statements ran in two seconds
    t.end(0, "x", { "db.a": 1, "db.b": 1 });
    t.change(A, 1, "y", 1, at("01.500")); // y's statement began before x committed
    t.end(1, "y", { "db.a": 1 });
    t.change(A, 2, "z", 1, at("03.000"));
    t.change(A, 3, "z", 2, at("04.000"));
    t.caughtUp.add(T);
    t.tick(20_000); // z never ends: applied as it is, with its own times
    assert.deepEqual(
      t.sourceTimes(),
      oneInstant
        ? { [A]: [at("02.000"), at("02.000"), at("03.000"), at("04.000")], [B]: [at("02.000")] }
        : { [A]: [at("01.000"), at("01.500"), at("03.000"), at("04.000")], [B]: [at("02.000")] },
      `oneInstant: ${oneInstant}`,
    );
    assert.match(t.said.at(-1)!, /^forced z/);
  }
});

Deno.test("TransactionAssembler: a backlog's tens of thousands of held transactions apply in commit order", () => {
  // as a backlog is read: every END first (the transaction topic is small), then every change
  // of a, then b's, each b change completing one transaction. (Each one applied must not walk
  // over the others held: walking made this test take minutes; `deno task bench --workload
  // transactions` measures the speed.)
  const n = 40_000;
  const t = setup({ maxHeldBytes: 1 << 30 });
  for (let i = 0; i < n; i++) t.end(i, `t${i}`, { "db.a": 1, "db.b": 1 });
  for (let i = 0; i < n; i++) t.change(A, i, `t${i}`, 1);
  assert.deepEqual(t.batch(), { rows: {}, positions: {} }, "all held: b's changes are to come");
  for (let i = 0; i < n; i++) t.change(B, i, `t${i}`, 1);
  const { rows, positions } = t.batch();
  assert.equal(rows[A].length, n);
  assert.deepEqual([rows[A][0], rows[A][n - 1], rows[B][n - 1]], [
    "t0@0",
    `t${n - 1}@${n - 1}`,
    `t${n - 1}@${n - 1}`,
  ]);
  assert.deepEqual(positions, { [A]: n, [B]: n, [T]: n });
  assert.equal(t.said.length, n);
  assert.equal(t.said.at(-1), `applied t${n - 1} (2)`);
  assert.equal(t.assembler.holdsAnything, false);
  assert.equal(t.assembler.holding.bytes, 0);
});

/** Whether `promise` has settled (its callbacks run before the awaits' continuations). */
async function settled(promise: Promise<void> | undefined): Promise<boolean> {
  if (!promise) return true;
  let done = false;
  promise.then(() => done = true);
  await Promise.resolve();
  return done;
}

Deno.test("TransactionAssembler.readAhead: a topic read ahead waits until half of its limit is held", async () => {
  // 64 KiB: the read-ahead limit is a quarter, 16 KiB; each held transaction counts 2 KiB
  const t = setup({ maxHeldBytes: 64 * 1024 });
  for (let i = 0; i < 40; i++) t.end(i, `t${i}`, { "db.a": 1, "db.b": 1 });
  for (let i = 0; i < 40; i++) t.change(A, i, `t${i}`, 1);
  const a = t.assembler.readAhead(A);
  const markers = t.assembler.readAhead(T);
  assert.ok(a && markers, "a and the transaction topic are ahead: they wait");
  assert.equal(t.assembler.readAhead(B), undefined, "b is what t0 needs: it never waits");
  for (let i = 0; i < 30; i++) t.change(B, i, `t${i}`, 1);
  assert.deepEqual([await settled(a), await settled(markers)], [false, false], "20 held: 40 KiB");
  for (let i = 30; i < 34; i++) t.change(B, i, `t${i}`, 1);
  // 6 held, 12 KiB: under the limit, not under half of it
  assert.deepEqual([await settled(a), await settled(markers)], [false, false], "6 held");
  for (let i = 34; i < 40; i++) t.change(B, i, `t${i}`, 1);
  assert.deepEqual([await settled(a), await settled(markers)], [true, true]);
  assert.equal(t.said.length, 40);
  assert.equal(t.said.filter((s) => s.startsWith("forced")).length, 0);
});

Deno.test("TransactionAssembler.readAhead: a waiting topic goes on as soon as the next transaction needs it", async () => {
  const t = setup({ maxHeldBytes: 64 * 1024 });
  for (let i = 0; i < 40; i++) t.end(i, `t${i}`, { "db.a": 1, "db.b": 1 });
  for (let i = 0; i < 10; i++) t.change(A, i, `t${i}`, 1);
  const a = t.assembler.readAhead(A);
  assert.ok(a, "t0 needs only b: a waits");
  // b goes past a: t0..t9 apply, t10..t30 are held, and t10 needs a
  for (let i = 0; i < 31; i++) t.change(B, i, `t${i}`, 1);
  assert.equal(await settled(a), true, "a goes on while 30 transactions are held");
  assert.equal(t.assembler.readAhead(A), undefined);
  const b = t.assembler.readAhead(B);
  assert.ok(b, "now b is ahead");
  for (let i = 10; i < 40; i++) t.change(A, i, `t${i}`, 1);
  assert.equal(await settled(b), true, "t31..t39 need b again");
  for (let i = 31; i < 40; i++) t.change(B, i, `t${i}`, 1);
  assert.equal(t.said.length, 40);
  assert.equal(t.said.filter((s) => s.startsWith("forced")).length, 0);
  const { rows } = t.batch();
  assert.deepEqual([rows[A].length, rows[B].length], [40, 40]);
});
