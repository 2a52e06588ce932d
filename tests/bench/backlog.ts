/**
 * A backlog that stays: `n` bench events on a topic of their own, made as `deno task bench`
 * makes its own (tests/bench/source.ts), but kept afterwards, for
 * tests/bench/cpu_per_event.sh and tests/bench/stage_split.ts.
 *
 *   deno run -A tests/bench/backlog.ts perf200k 200000 [inserts|updates]
 *   # -> topic perf200k.perf200k.items (prefix, database and table for cpu_per_event.sh)
 *   deno run -A tests/bench/backlog.ts many200 200000 inserts 200
 *   # -> the events over 200 tables t000..t199, topics many200.many200.t000 ...
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
import { makeManyTablesBacklog } from "./workloads.ts";

const [name, count, workload = "inserts", tables = "1"] = Deno.args;
if (
  !name || !/^[a-z][a-z0-9_]*$/.test(name) || !(Number(count) > 0) ||
  (workload !== "inserts" && workload !== "updates") || !(Number(tables) > 0)
) {
  console.error(
    "usage: deno run -A tests/bench/backlog.ts <name: a-z, 0-9, _> <events> [inserts|updates] [tables]",
  );
  Deno.exit(2);
}
const db = await connectMysql();
try {
  const say = (line: string) => console.error(line);
  if (Number(tables) > 1) {
    const many = await makeManyTablesBacklog(db, name, Number(count), Number(tables), say);
    console.log(
      `${many.topics.length} topics ${many.topicPrefix}.${many.database}.<${many.regex}>`,
    );
    Deno.exit(0);
  }
  const source = await makeBacklog(db, name, Number(count), say, workload as Workload);
  console.log(
    `${source.topics[0]}: cpu_per_event.sh ${source.topicPrefix} ${source.database} ${TABLE}`,
  );
} finally {
  await db.end();
}
