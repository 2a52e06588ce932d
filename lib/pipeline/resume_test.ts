import assert from "node:assert/strict";
import {
  describeResumePoint,
  planPositions,
  planResume,
  readResumePlan,
  ResumeError,
  resumeLog,
  type ResumeReads,
  type StartFrom,
} from "./resume.ts";
import type { KafkaPartitionOffsets, Positions } from "../kafka/mod.ts";

const T = "dbserver1.inventory.customers";

function plan(
  startFrom: StartFrom,
  partitions: KafkaPartitionOffsets[],
  stored: [number, number][] = [],
) {
  const positions: Positions = new Map(stored.length ? [[T, new Map(stored)]] : []);
  return planResume({
    groupId: "g",
    startFrom,
    stored: positions,
    kafka: new Map([[T, partitions]]),
  });
}

Deno.test("stored positions win over the group's offsets in every mode but earliest", () => {
  for (const mode of ["stored", "group"] as const) {
    const [point] = plan(mode, [{ partition: 0, committed: 90, earliest: 0, end: 100 }], [[0, 40]]);
    assert.equal(point.offset, 40);
    assert.equal(point.from, "stored");
    assert.equal(point.warning, undefined);
  }
});

Deno.test("default: an emptied sink with a used group reads from the earliest offset, loudly", () => {
  const [point] = plan("stored", [{ partition: 0, committed: 100, earliest: 5, end: 100 }]);
  assert.equal(point.offset, 5);
  assert.equal(point.from, "earliest");
  assert.match(point.warning!, /group g has committed offset 100/);
  assert.match(point.warning!, /the sink was emptied or is another database/);
  assert.match(point.warning!, /95 records still in Kafka/);
  assert.match(point.warning!, /--start-from group/);
});

Deno.test("--start-from group resumes at the group's offset when the sink has none", () => {
  const [point] = plan("group", [{ partition: 0, committed: 100, earliest: 5, end: 100 }]);
  assert.equal(point.offset, 100);
  assert.equal(point.from, "group");
  assert.match(point.why, /offset committed by group g/);
});

Deno.test("neither stored nor committed: earliest, without a warning", () => {
  for (const mode of ["stored", "group"] as const) {
    const [point] = plan(mode, [{ partition: 0, earliest: 3, end: 10 }]);
    assert.deepEqual([point.offset, point.from, point.warning], [3, "earliest", undefined]);
    assert.match(point.why, /no position stored in the sink, no offset committed by group g/);
  }
});

Deno.test("--start-from earliest ignores stored positions and says what is re-read", () => {
  const [point] = plan("earliest", [{ partition: 0, committed: 50, earliest: 0, end: 60 }], [[
    0,
    50,
  ]]);
  assert.deepEqual([point.offset, point.from], [0, "earliest"]);
  assert.match(point.warning!, /re-reading 50 records below the stored position 50/);
});

Deno.test("a position deleted by retention is clamped to the earliest offset, with the gap named", () => {
  const [point] = plan("stored", [{ partition: 0, earliest: 30, end: 60 }], [[0, 10]]);
  assert.deepEqual([point.offset, point.from], [30, "earliest"]);
  assert.match(point.warning!, /records 10\.\.29 were deleted by Kafka's retention/);
});

Deno.test("a position past the partition's end is refused: the topic was recreated", () => {
  assert.throws(
    () => plan("stored", [{ partition: 0, earliest: 0, end: 20 }], [[0, 500]]),
    (e: Error) =>
      e instanceof ResumeError && /\[0\]: the sink's stored position 500 is past/.test(e.message),
  );
  assert.throws(
    () => plan("group", [{ partition: 0, committed: 500, earliest: 0, end: 20 }]),
    /the group's committed offset 500 is past the partition's end offset 20/,
  );
});

Deno.test("every partition gets its own decision, in partition order, as seekable positions", () => {
  const points = plan("stored", [
    { partition: 1, committed: 7, earliest: 0, end: 9 },
    { partition: 0, committed: 4, earliest: 0, end: 9 },
  ], [[0, 4]]);
  assert.deepEqual(points.map((p) => [p.partition, p.offset, p.from]), [
    [0, 4, "stored"],
    [1, 0, "earliest"],
  ]);
  assert.deepEqual(planPositions(points), new Map([[T, new Map([[0, 4], [1, 0]])]]));
  assert.equal(
    describeResumePoint(points[0]),
    `${T}[0] from offset 4 (stored in the sink)`,
  );
});

Deno.test("the start-up log warns once for a sink without positions, then per partition", () => {
  const emptied = resumeLog(
    plan("stored", [
      { partition: 0, committed: 9, earliest: 0, end: 9 },
      { partition: 1, earliest: 0, end: 2 },
    ]),
    "MySQL x/db",
  );
  assert.deepEqual(emptied.map((l) => l.warn), [true, true, false]);
  assert.match(
    emptied[0].text,
    /^MySQL x\/db holds no stored positions, but the consumer group has committed offsets for 1 partition\(s\)/,
  );
  assert.match(emptied[1].text, new RegExp(`^resuming ${T}\\[0\\] from offset 0 `));
  // a sink that holds positions for some partitions is not "emptied": per-partition warnings only
  const partly = resumeLog(
    plan("stored", [
      { partition: 0, committed: 9, earliest: 0, end: 9 },
      { partition: 1, committed: 2, earliest: 0, end: 2 },
    ], [[1, 2]]),
    "MySQL x/db",
  );
  assert.deepEqual(partly.map((l) => [l.warn, l.text.slice(0, 8)]), [
    [true, "resuming"],
    [false, "resuming"],
  ]);
});

/**
 * The other process of the group, writing while a process starts: after every read the
 * starting process makes, it writes `step` more records, stores their position in the sink
 * and then commits it to the group, as a running `cdc stream` does. `start`: what it had
 * stored and committed before (undefined: nothing yet).
 */
function writingMember(start: number | undefined, step: number) {
  let written = start ?? 0;
  let stored = start;
  let committed = start;
  const reads: string[] = [];
  const after = <T>(what: string, value: T): Promise<T> => {
    reads.push(what);
    written += step;
    stored = written;
    committed = written;
    return Promise.resolve(value);
  };
  const positions = (offset: number | undefined): Positions =>
    new Map(offset === undefined ? [] : [[T, new Map([[0, offset]])]]);
  const members: ResumeReads = {
    committed: () => after("committed", positions(committed)),
    stored: () => after("stored", positions(stored)),
    watermarks: () =>
      after("watermarks", new Map([[T, [{ partition: 0, earliest: 0, end: written }]]])),
  };
  return { reads, members };
}

Deno.test("readResumePlan: a member writing between the reads fools neither check", async () => {
  const options = { groupId: "g", startFrom: "stored" as const, recheckMs: 0 };
  // Kafka's ends are read after the sink: read the other way round, the end 62 and then the
  // stored 68 would stop the stream ("past the end")
  const running = writingMember(62, 6);
  const [point] = await readResumePlan(running.members, options);
  assert.deepEqual(running.reads, ["committed", "stored", "watermarks"]);
  assert.deepEqual([point.offset, point.from, point.warning], [68, "stored", undefined]);
  // the sink is read after the group: read the other way round, no stored position and then
  // the group's offset 6 would say "the sink was emptied" and re-read from the earliest
  const first = writingMember(undefined, 6);
  const [fresh] = await readResumePlan(first.members, options);
  assert.deepEqual([fresh.offset, fresh.from, fresh.warning], [6, "stored", undefined]);
});
Deno.test("readResumePlan: an end offset behind the stored position is read again before it stops", async () => {
  let ends = [60, 61, 70];
  const rechecked: string[] = [];
  const reads: ResumeReads = {
    committed: () => Promise.resolve(new Map()),
    stored: () => Promise.resolve(new Map([[T, new Map([[0, 65]])]])),
    // a newly elected leader whose high watermark catches up
    watermarks: () =>
      Promise.resolve(new Map([[T, [{ partition: 0, earliest: 0, end: ends.shift() ?? 70 }]]])),
  };
  const options = {
    groupId: "g",
    startFrom: "stored" as const,
    recheckMs: 10_000,
    onRecheck: (e: ResumeError) => rechecked.push(e.message),
  };
  const [point] = await readResumePlan(reads, options);
  assert.deepEqual([point.offset, rechecked.length], [65, 1]);
  // a topic recreated: the end stays behind, and the stream stops with the reason
  ends = [];
  const recreated = {
    ...reads,
    watermarks: () => Promise.resolve(new Map([[T, [{ partition: 0, earliest: 0, end: 20 }]]])),
  };
  await assert.rejects(
    readResumePlan(recreated, { ...options, recheckMs: 300 }),
    (e: Error) =>
      e instanceof ResumeError &&
      /stored position 65 is past the partition's end offset 20/.test(e.message),
  );
});

Deno.test("planResume: a transaction topic new to a sink that holds positions starts at its end", () => {
  const kafka = new Map([
    [T, [{ partition: 0, earliest: 0, end: 50 }]],
    ["p.transaction", [{ partition: 0, earliest: 0, end: 900 }]],
  ]);
  const plan = (stored: Positions) =>
    planResume({ groupId: "g", startFrom: "stored", stored, kafka, joinsAtEnd: "p.transaction" })
      .map((p) => [p.topic, p.offset, p.from]);
  assert.deepEqual(plan(new Map([[T, new Map([[0, 40]])]])), [
    [T, 40, "stored"],
    ["p.transaction", 900, "end"],
  ]);
  // an empty sink reads both from the start; a stored position of its own is kept
  assert.deepEqual(plan(new Map()), [[T, 0, "earliest"], ["p.transaction", 0, "earliest"]]);
  const both = new Map([[T, new Map([[0, 40]])], ["p.transaction", new Map([[0, 700]])]]);
  assert.deepEqual(plan(both), [[T, 40, "stored"], ["p.transaction", 700, "stored"]]);
});
