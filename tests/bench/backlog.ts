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
 * `updates`: each key changed 10 times; `transactions`: orders and their lines, each order one
 * source transaction, with Debezium's transaction metadata (tests/bench/source.ts's `Workload`):
 *
 *   deno run -A tests/bench/backlog.ts tx200k 200000 transactions
 *   # -> cpu_per_event.sh tx200k tx200k orders 200000 --table order_lines [--transactions]
 *
 * Needs the local stack. The name becomes the source database and the topic prefix; an
 * existing database of that name is replaced, but a name whose topics exist is refused: the new
 * events would join the old ones, and cpu_per_event.sh would wait for a count never reached.
 *
 * @module
 */
import { connectMysql } from "../helpers.ts";
import { makeBacklog, stackAdmin, TABLE, type Workload } from "./source.ts";
import { makeManyTablesBacklog } from "./workloads.ts";

const [name, count, workload = "inserts", tables = "1"] = Deno.args;
if (
  !name || !/^[a-z][a-z0-9_]*$/.test(name) || !(Number(count) > 0) ||
  !["inserts", "updates", "transactions"].includes(workload) || !(Number(tables) > 0) ||
  (workload === "transactions" && Number(tables) > 1)
) {
  console.error(
    "usage: deno run -A tests/bench/backlog.ts <name: a-z, 0-9, _> <events> " +
      "[inserts|updates|transactions] [tables]",
  );
  Deno.exit(2);
}
const admin = await stackAdmin();
const taken = (await admin.listTopics()).filter((topic) => topic.startsWith(`${name}.`));
await admin.disconnect();
if (taken.length) {
  console.error(
    `the topics of ${name} exist already (${taken.join(", ")}): a backlog is made once per ` +
      `name; pick another name, or use these with cpu_per_event.sh`,
  );
  Deno.exit(1);
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
  const [first, ...others] = source.tables;
  console.log(
    `${source.topics.join(", ")}: cpu_per_event.sh ${source.topicPrefix} ${source.database} ${
      first === TABLE ? TABLE : first
    } ${count}${others.map((t) => ` --table ${t}`).join("")}${
      source.transactionTopic ? " [--transactions]" : ""
    }`,
  );
} finally {
  await db.end();
}
