/**
 * The plans a stream's records take, made once per table, value schema and key schema: the
 * event plan (lib/debezium/event_plan.ts), with its table made ready by the writer (created,
 * or evolved) and the target its rows are buffered for. A record whose schemas are at hand
 * finds its plan without a wait ({@linkcode PlanCache.ready}); the first of a schema waits
 * for the registry, the DDL and the key schema ({@linkcode PlanCache.plan}).
 *
 * @module
 */
import type { CompiledSchema } from "../avro/decoder.ts";
import type { Envelope } from "../debezium/envelope.ts";
import { compileEventPlan, type EventPlan } from "../debezium/event_plan.ts";
import type { MappingOptions } from "../debezium/type_mapping.ts";
import type { SourceRecord } from "../kafka/mod.ts";
import { type RowTarget, rowTarget } from "../sink/batch.ts";
import type { BatchWriter } from "../sink/writer.ts";
import { BadInputError } from "../util/errors.ts";
import type { RecordDecoder } from "./stages.ts";

/** An event plan and the target its rows are buffered for. */
export interface PlannedTarget {
  plan: EventPlan;
  target: RowTarget;
  /** True where the target is bulk-loaded and the plan writes its lines from the bytes. */
  lines: boolean;
}

/** A plan at hand for a table and value schema, and the key schema it was made with. */
interface ReadyPlan {
  planned: PlannedTarget;
  keySchema: CompiledSchema | undefined;
}

/** What the cache needs: the decoder (schemas), the writer (tables) and the mapping. */
export interface PlanCacheOptions {
  decoder: RecordDecoder;
  writer: BatchWriter;
  mapping: MappingOptions;
  /** True when plans need the Kafka key's schema (mirror, scd2: the key columns). */
  keyed: boolean;
  /**
   * True to hold rows as values even where the writer bulk-loads: a whole source transaction's
   * rows get one source time (`oneInstant`, lib/pipeline/transactions.ts), which is set on
   * values only.
   */
  asValues?: boolean;
}

/** The plans of a stream, by table and schemas. */
export class PlanCache {
  readonly #options: PlanCacheOptions;
  readonly #plans = new Map<string, Promise<PlannedTarget>>();
  /** The plans made so far by table and value schema, for records handled without a wait. */
  readonly #ready = new Map<string, Map<CompiledSchema, ReadyPlan>>();
  /** One target per table and row shape: rows of several schemas with it share statements. */
  readonly #targets = new Map<string, RowTarget>();
  /** The Kafka key schema last seen per topic, for truncates (which carry no key). */
  readonly #keySchemas = new Map<string, CompiledSchema>();

  constructor(options: PlanCacheOptions) {
    this.#options = options;
  }

  /**
   * The plan of a record whose value schema (and key schema, where plans need it) are at
   * hand and were planned for `table` before; undefined when the record has to wait.
   */
  ready(table: string, topic: string, record: SourceRecord): PlannedTarget | undefined {
    const { decoder, keyed } = this.#options;
    const schema = decoder.knownSchemaOf(record.value!);
    const ready = schema && this.#ready.get(table)?.get(schema);
    if (!ready || !keyed) return ready?.planned;
    const keySchema = record.key === null ? undefined : decoder.knownSchemaOf(record.key);
    if (keySchema) this.#keySchemas.set(topic, keySchema);
    return keySchema === ready.keySchema ? ready.planned : undefined;
  }

  /**
   * The plan of a record that waits: its value decoded (`envelope`, written with `schema`),
   * its key schema looked up where plans need it, the plan compiled and its table made ready
   * once. Throws {@linkcode BadInputError} for a schema that cannot be planned, or a keyed
   * mode's record without a key.
   */
  async plan(
    table: string,
    topic: string,
    record: SourceRecord,
    schema: CompiledSchema,
    envelope: Envelope,
  ): Promise<PlannedTarget> {
    const keySchema = this.#options.keyed
      ? await this.#keySchema(table, topic, record, envelope)
      : undefined;
    const k = `${table}\0${schema.id}\0${keySchema?.id ?? ""}`;
    let planned = this.#plans.get(k);
    if (!planned) {
      planned = this.#make(table, topic, schema, keySchema);
      planned.catch(() => this.#plans.delete(k));
      this.#plans.set(k, planned);
    }
    const made = await planned;
    // the plan last used for this table and schema is the one records take without a wait
    this.#readyOf(table).set(schema, { planned: made, keySchema });
    return made;
  }

  async #make(
    table: string,
    topic: string,
    schema: CompiledSchema,
    keySchema: CompiledSchema | undefined,
  ): Promise<PlannedTarget> {
    const { writer, mapping } = this.#options;
    const plan = compileEventPlan(schema, mapping, keySchema?.schema);
    await writer.ensureTable(table, plan.columns, plan.keyColumns);
    const target = this.#target(table, topic, plan);
    return { plan, target, lines: target.loadData !== undefined && plan.line !== undefined };
  }

  #readyOf(table: string): Map<CompiledSchema, ReadyPlan> {
    let plans = this.#ready.get(table);
    if (!plans) this.#ready.set(table, plans = new Map());
    return plans;
  }

  #target(table: string, topic: string, plan: EventPlan): RowTarget {
    const names = plan.rowColumns.map((c) => c.name);
    const k = `${table}\0${names.join("\0")}\0${plan.keyColumns.join("\0")}`;
    let target = this.#targets.get(k);
    if (!target) {
      target = rowTarget(
        table,
        topic,
        plan.rowColumns,
        plan.keyColumns,
        this.#options.asValues ? undefined : this.#options.writer.bulkLoad,
      );
      this.#targets.set(k, target);
    }
    return target;
  }

  /**
   * The schema of a record's Kafka key. A truncate has no key: it takes the table's
   * key as last seen, or as the registry has it. A table without a primary key has none.
   */
  async #keySchema(
    table: string,
    topic: string,
    record: SourceRecord,
    envelope: Envelope,
  ): Promise<CompiledSchema> {
    const { decoder } = this.#options;
    if (record.key !== null) {
      const schema = await decoder.schemaOf(record.key);
      this.#keySchemas.set(topic, schema);
      return schema;
    }
    if (envelope.op === "t") {
      const known = this.#keySchemas.get(topic) ??
        await decoder.latestSchema(`${topic}-key`).catch(() => undefined);
      if (known) return known;
    }
    throw new BadInputError(
      "missing-key",
      `the record has no Kafka key: source table of ${table} has no primary key, and this ` +
        `mode keeps one row per key. Give the connector one with message.key.columns ` +
        `("<db>.<table>:<column>[,<column>]"), or stream this table with --mode history`,
    );
  }
}
