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

Deno.test({
  name:
    "stream --table-regex: the matching tables, then a table created while streaming, from its first offset",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using scratch = await Scratch.open("regex");
    const database = scratch.name();
    const sink = scratch.name("sink");
    const producer = kafkaClient({ brokers: [STACK.bootstrapServers] }, "cdc-test-producer")
      .producer();
    await producer.connect();
    try {
      const topics = new Map<string, Awaited<ReturnType<typeof itemsTopic>>>();
      for (const table of ["r0", "r1", "x1"]) {
        topics.set(table, await itemsTopic(STACK, database, table));
        await produceAll(
          producer,
          topics.get(table)!.topic,
          [1, 2].map(topics.get(table)!.created),
        );
      }
      const args = [
        "stream",
        "--database",
        database,
        "--sink-database",
        sink,
        "--flush-ms",
        "100",
        "--table-refresh",
        "500ms",
        ...STACK_FLAGS,
      ];
      const cdc = scratch.stream(args, { env: { CDC_TABLE_REGEX: "r[0-9]+" } });
      const db = scratch.db;
      await cdc.waitForRows(db, sink, "r0_cdc", 2);
      await cdc.waitForRows(db, sink, "r1_cdc", 2);
      // a table created while streaming: its topic appears with its first records
      const r2 = await itemsTopic(STACK, database, "r2");
      await produceAll(producer, r2.topic, [1, 2, 3].map(r2.created));
      await cdc.waitForRows(db, sink, "r2_cdc", 3);
      // the tables read before go on after the group was joined again
      await produceAll(producer, topics.get("r0")!.topic, [3].map(topics.get("r0")!.created));
      await cdc.waitForRows(db, sink, "r0_cdc", 3);
      const tables = await query<{ name: string }>(
        db,
        "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? " +
          "AND TABLE_NAME LIKE '%\\_cdc' ORDER BY 1",
        [sink],
      );
      assert.deepEqual(
        tables.map((t) => t.name),
        ["r0_cdc", "r1_cdc", "r2_cdc"],
        "x1 does not match",
      );
      const stored = await query<{ group_id: string; topic: string; next_offset: string }>(
        db,
        `SELECT group_id, topic, next_offset FROM \`${sink}\`.__cdc_offsets ORDER BY topic`,
      );
      assert.deepEqual(
        stored.map((s) => [s.group_id, s.topic.split(".").at(-1), Number(s.next_offset)]),
        [
          [`cdc.${database}./r[0-9]+/`, "r0", 3],
          [`cdc.${database}./r[0-9]+/`, "r1", 2],
          [`cdc.${database}./r[0-9]+/`, "r2", 3],
        ],
      );
      assert.match(cdc.stderr, /new table\(s\) matching --table-regex: .*r2 → r2_cdc/);
      assert.match(cdc.stderr, /subscribed to .*\.r2: left and joined group .* again in \d+ ms/);
      assert.match(cdc.stderr, /\.r2\[0\]: newly assigned, reading from 0, its earliest offset/);

      // restarted without the group's offsets (deleted, as when they expire): the tables the
      // regex finds resume from the positions stored in the sink, nothing written twice
      assert.equal((await cdc.stop()).code, 0, cdc.stderr);
      const admin = kafkaClient({ brokers: [STACK.bootstrapServers] }, "cdc-test-admin").admin();
      await admin.connect();
      await admin.deleteGroups([`cdc.${database}./r[0-9]+/`]).finally(() => admin.disconnect());
      await produceAll(producer, topics.get("r1")!.topic, [3].map(topics.get("r1")!.created));
      const again = scratch.stream(args, { env: { CDC_TABLE_REGEX: "r[0-9]+" } });
      await again.waitForRows(db, sink, "r1_cdc", 3);
      for (const table of ["r0", "r1", "r2"]) {
        assert.match(
          again.stderr,
          new RegExp(`\\.${table}\\[0\\] from offset \\d+ \\(stored in the sink\\)`),
        );
      }
      assert.equal((await again.stop()).code, 0, again.stderr);
      const counts = await query<{ n: string }>(
        db,
        `SELECT (SELECT COUNT(*) FROM \`${sink}\`.r0_cdc) + (SELECT COUNT(*) FROM \`${sink}\`.r1_cdc)
           + (SELECT COUNT(*) FROM \`${sink}\`.r2_cdc) AS n`,
      );
      assert.equal(Number(counts[0].n), 3 + 3 + 3, "every row once");
    } finally {
      await producer.disconnect();
    }
  },
});
