/**
 * One process streaming many tables with the default consumer group: the default id
 * `cdc.<database>.<tables>` of 60 four-character names would be 300+ characters, past the
 * 255 of `__cdc_offsets.group_id` (exit 1, 0 rows, "Data too long for column 'group_id'").
 */
import assert from "node:assert/strict";
import { kafkaClient } from "../lib/kafka/client.ts";
import { FinalError, waitFor } from "../lib/util/retry.ts";
import { defaultGroupId } from "../lib/cli/options/stream_target.ts";
import { itemsTopic, produceAll } from "./fixtures/produce.ts";
import { query, runCdc, STACK, STACK_FLAGS } from "./helpers.ts";
import { Scratch } from "./fixtures/scratch.ts";

const TABLES = Array.from({ length: 60 }, (_, i) => `t${String(i).padStart(3, "0")}`);

Deno.test({
  name: "stream: 60 tables with the default group id; a too long --group-id is refused at start",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using scratch = await Scratch.open("many");
    const database = scratch.name();
    const sink = scratch.name("sink");
    const tableFlags = TABLES.flatMap((t) => ["--table", t]);
    const tooLong = await runCdc([
      "stream",
      ...tableFlags,
      "--database",
      database,
      "--group-id",
      "g".repeat(256),
      ...STACK_FLAGS,
    ]);
    assert.equal(tooLong.code, 2, tooLong.stderr);
    assert.match(tooLong.stderr, /--group-id \(CDC_GROUP_ID\) must be 1 to 255 characters/);

    const producer = kafkaClient({ brokers: [STACK.bootstrapServers] }, "cdc-test-producer")
      .producer();
    await producer.connect();
    try {
      for (const table of TABLES) {
        const { topic, created } = await itemsTopic(STACK, database, table);
        await produceAll(producer, topic, [created(1), created(2)]);
      }
    } finally {
      await producer.disconnect();
    }
    const db = scratch.db;
    const cdc = scratch.stream([
      "stream",
      ...tableFlags,
      "--database",
      database,
      "--sink-database",
      sink,
      "--flush-ms",
      "100",
      ...STACK_FLAGS,
    ]);
    const group = defaultGroupId(database, TABLES);
    assert.match(group, /^cdc\.many_\w+\.60-tables-[0-9a-f]{16}$/);
    await waitFor("two rows in each table", async () => {
      if (cdc.exited) throw new FinalError(`cdc exited:\n${cdc.stderr}`);
      const stored = await query<{ n: string }>(
        db,
        `SELECT COUNT(*) AS n FROM \`${sink}\`.__cdc_offsets WHERE group_id = ? AND next_offset = 2`,
        [group],
      ).catch(() => [{ n: "0" }]);
      return Number(stored[0].n) === TABLES.length;
    }, 120_000);
  },
});
