/**
 * A backlog that stays: `n` bench events on a topic of their own, made as `deno task bench`
 * makes its own (tests/bench/source.ts), but kept afterwards, for
 * tests/bench/cpu_per_event.sh and tests/bench/stage_split.ts.
 *
 *   deno run -A tests/bench/backlog.ts perf200k 200000 [inserts|updates]
 *   # -> topic perf200k.perf200k.items (prefix, database and table for cpu_per_event.sh)
 *
 * `updates`: each key changed 10 times (tests/bench/source.ts's `Workload`).
 *
 * Needs the local stack. The name becomes the source database and the topic prefix; an
 * existing database of that name is replaced.
 *
 * @module
 */
import { connectMysql } from "../helpers.ts";
import { makeBacklog, TABLE, type Workload } from "./source.ts";

const [name, count, workload = "inserts"] = Deno.args;
if (
  !name || !/^[a-z][a-z0-9_]*$/.test(name) || !(Number(count) > 0) ||
  (workload !== "inserts" && workload !== "updates")
) {
  console.error(
    "usage: deno run -A tests/bench/backlog.ts <name: a-z, 0-9, _> <events> [inserts|updates]",
  );
  Deno.exit(2);
}
const db = await connectMysql();
try {
  const source = await makeBacklog(
    db,
    name,
    Number(count),
    (line) => console.error(line),
    workload as Workload,
  );
  console.log(
    `${source.topic}: cpu_per_event.sh ${source.topicPrefix} ${source.database} ${TABLE}`,
  );
} finally {
  await db.end();
}
