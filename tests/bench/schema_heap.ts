/**
 * What a stream's compiled schemas hold on the heap: the value schemas of the registry subjects
 * beginning with a prefix (e.g. a many-table backlog's, tests/bench/backlog.ts), compiled as
 * `cdc stream` compiles them: avsc's writer type, its projection to the fields read and the
 * resolver between them (lib/avro/decoder.ts), then the event plan (lib/debezium/event_plan.ts,
 * with its in-place reader of lib/avro/binary.ts) and the LOAD DATA target of each.
 *
 *   eval "$(deno task stack env)"
 *   deno run -A --v8-flags=--expose-gc tests/bench/schema_heap.ts many200.   # [--no-project]
 *
 * @module
 */
import { AvroDecoder } from "../../lib/avro/decoder.ts";
import { RegistryClient } from "../../lib/avro/registry.ts";
import { envelopeReaderSchema } from "../../lib/debezium/envelope.ts";
import { compileEventPlan } from "../../lib/debezium/event_plan.ts";
import { rowTarget } from "../../lib/sink/batch.ts";
import { REGISTRY_URL } from "../../tools/stack/config.ts";

const [prefix] = Deno.args.filter((a) => !a.startsWith("--"));
const gc = (globalThis as { gc?: () => void }).gc;
if (!prefix || !gc) {
  console.error(
    "usage: deno run -A --v8-flags=--expose-gc tests/bench/schema_heap.ts <subject prefix> [--no-project]",
  );
  Deno.exit(2);
}
const registry = new RegistryClient(REGISTRY_URL, { retryTimeoutMs: 10_000 });
const subjects: string[] = await (await fetch(`${REGISTRY_URL}/subjects`)).json();
const ids: number[] = [];
for (const subject of subjects.filter((s) => s.startsWith(prefix) && s.endsWith("-value"))) {
  const latest = await fetch(
    `${REGISTRY_URL}/subjects/${encodeURIComponent(subject)}/versions/latest`,
  );
  ids.push((await latest.json()).id);
}
for (const id of ids) await registry.schemaById(id); // the registry's answers are held before
const heapMiB = () => {
  gc();
  gc();
  return Deno.memoryUsage().heapUsed / 2 ** 20;
};
const decoder = new AvroDecoder(registry, {
  project: Deno.args.includes("--no-project") ? undefined : envelopeReaderSchema,
});
const before = heapMiB();
const schemas = await Promise.all(ids.map((id) => decoder.schema(id)));
const compiled = heapMiB();
const plans = schemas.map((schema) => compileEventPlan(schema));
const planned = heapMiB();
const targets = plans.map((plan, i) =>
  rowTarget(`t${i}`, `t${i}`, plan.rowColumns, plan.keyColumns, "ignore")
);
const targeted = heapMiB();
console.log(
  `${ids.length} value schemas: avsc types ${(compiled - before).toFixed(1)} MiB, event plans ` +
    `${(planned - compiled).toFixed(1)} MiB, LOAD DATA targets ${
      (targeted - planned).toFixed(1)
    } MiB (${targets.length} held); heap ${targeted.toFixed(1)} MiB, RSS ${
      (Deno.memoryUsage().rss / 2 ** 20).toFixed(0)
    } MiB`,
);
