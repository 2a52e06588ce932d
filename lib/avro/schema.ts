/**
 * The shape of Avro schemas as Debezium's Avro converters write them, with
 * Kafka Connect's attributes (`connect.name`, `connect.parameters`, ...).
 *
 * @module
 */

/** Any Avro schema: a primitive or named type's name, a union, or a complex type. */
export type AvroSchema = string | AvroSchema[] | AvroComplexSchema;

/** A complex Avro type, with the attributes Kafka Connect adds. */
export interface AvroComplexSchema {
  type: string | AvroSchema;
  name?: string;
  namespace?: string;
  fields?: AvroField[];
  items?: AvroSchema;
  values?: AvroSchema;
  symbols?: string[];
  size?: number;
  logicalType?: string;
  precision?: number;
  scale?: number;
  "connect.name"?: string;
  "connect.type"?: string;
  "connect.version"?: number;
  "connect.parameters"?: Record<string, string>;
  "connect.default"?: unknown;
  [attribute: string]: unknown;
}

/** A field of an Avro record. */
export interface AvroField {
  name: string;
  type: AvroSchema;
  default?: unknown;
  doc?: string;
}

/** A record schema: a complex schema that has fields. */
export type AvroRecordSchema = AvroComplexSchema & { fields: AvroField[]; name: string };

/** Named types of a schema, by full name and short name, for resolving references. */
export type NamedTypes = Map<string, AvroComplexSchema>;

const PRIMITIVES = new Set([
  "null",
  "boolean",
  "int",
  "long",
  "float",
  "double",
  "bytes",
  "string",
]);

/** A named type's full name, by Avro's rules: dotted names are full already. */
function fullName(name: string, namespace: string | undefined, enclosing: string): string {
  if (name.includes(".")) return name;
  const ns = namespace ?? enclosing;
  return ns ? `${ns}.${name}` : name;
}

/** The namespace part of a full name. */
function namespaceOf(fullName: string): string {
  return fullName.includes(".") ? fullName.slice(0, fullName.lastIndexOf(".")) : "";
}

/** Collects every named type (record, enum, fixed) of `schema`. */
export function namedTypes(
  schema: AvroSchema,
  namespace = "",
  into: NamedTypes = new Map(),
): NamedTypes {
  if (Array.isArray(schema)) {
    for (const branch of schema) namedTypes(branch, namespace, into);
  } else if (typeof schema === "object") {
    let ns = namespace;
    if (schema.name) {
      const full = fullName(schema.name, schema.namespace, namespace);
      ns = namespaceOf(full);
      into.set(full, schema);
      if (!into.has(schema.name)) into.set(schema.name, schema);
    }
    if (typeof schema.type === "object") namedTypes(schema.type, ns, into);
    for (const field of schema.fields ?? []) namedTypes(field.type, ns, into);
    if (schema.items) namedTypes(schema.items, ns, into);
    if (schema.values) namedTypes(schema.values, ns, into);
  }
  return into;
}

/** Follows a reference to a named type; primitives and inline types come back as they are. */
export function resolve(schema: AvroSchema, names: NamedTypes): AvroSchema {
  if (typeof schema === "string" && !PRIMITIVES.has(schema)) {
    const named = names.get(schema);
    if (!named) throw new Error(`the Avro schema refers to an unknown type "${schema}"`);
    return named;
  }
  return schema;
}

/** A field's type with the optional union and named references looked through. */
export interface UnwrappedType {
  schema: AvroSchema;
  nullable: boolean;
  /** True when the type is a reference to a named type defined elsewhere in the schema. */
  referenced: boolean;
}

/**
 * Splits an optional type `["null", T]` into T and whether null is allowed.
 * Unions of several non-null types do not occur in Debezium's row schemas.
 */
export function unwrapOptional(schema: AvroSchema, names: NamedTypes): UnwrappedType {
  let branch = schema;
  let nullable = false;
  if (Array.isArray(schema)) {
    const branches = schema.filter((b) => b !== "null");
    if (branches.length !== 1) {
      throw new Error(`unions of several types are not supported: ${JSON.stringify(schema)}`);
    }
    branch = branches[0];
    nullable = branches.length < schema.length;
  }
  const referenced = typeof branch === "string" && !PRIMITIVES.has(branch);
  return { schema: resolve(branch, names), nullable, referenced };
}

/** The Avro primitive underneath a schema (`"int"`, `"record"`, ...). */
export function avroTypeName(schema: AvroSchema): string {
  if (typeof schema === "string") return schema;
  if (Array.isArray(schema)) return "union";
  return typeof schema.type === "string" ? schema.type : avroTypeName(schema.type);
}

/** A schema's attribute, looking through `{"type": {...}}` nesting. */
export function attribute<K extends keyof AvroComplexSchema>(
  schema: AvroSchema,
  key: K,
): AvroComplexSchema[K] | undefined {
  if (typeof schema !== "object" || Array.isArray(schema)) return undefined;
  return schema[key] ?? (typeof schema.type === "object" ? attribute(schema.type, key) : undefined);
}

/** True when `schema` is an Avro record. */
export function isRecord(schema: AvroSchema): schema is AvroRecordSchema {
  return typeof schema === "object" && !Array.isArray(schema) && schema.type === "record" &&
    Array.isArray(schema.fields);
}

/**
 * Makes a schema self-contained by writing each referenced named type
 * (Confluent schema references: full name → its schema) in place of its
 * first use; later uses stay names, as Avro requires.
 */
export function inlineReferences(
  schema: AvroSchema,
  references: ReadonlyMap<string, AvroSchema>,
): AvroSchema {
  const defined = new Set<string>();
  const walk = (node: AvroSchema, namespace: string): AvroSchema => {
    if (typeof node === "string") {
      if (PRIMITIVES.has(node)) return node;
      const full = node.includes(".") || !namespace ? node : `${namespace}.${node}`;
      const name = references.has(full) ? full : references.has(node) ? node : undefined;
      if (name === undefined || defined.has(name)) return node;
      defined.add(name);
      return walk(references.get(name)!, namespace);
    }
    if (Array.isArray(node)) return node.map((branch) => walk(branch, namespace));
    let ns = namespace;
    if (node.name) {
      const full = fullName(node.name, node.namespace, namespace);
      defined.add(full);
      ns = namespaceOf(full);
    }
    const copy: AvroComplexSchema = { ...node };
    if (typeof node.type === "object") copy.type = walk(node.type, ns);
    if (node.fields) copy.fields = node.fields.map((f) => ({ ...f, type: walk(f.type, ns) }));
    if (node.items) copy.items = walk(node.items, ns);
    if (node.values) copy.values = walk(node.values, ns);
    return copy;
  };
  return walk(schema, "");
}
