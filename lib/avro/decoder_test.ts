import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import avro from "avsc";
import {
  compileAvro,
  decodeAvroPayload,
  decodeConfluentFrame,
  readZigZagLong,
  writeZigZagLong,
} from "./decoder.ts";
import { BadInputError } from "../util/errors.ts";

function frame(id: number, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(5 + payload.length);
  bytes[0] = 0;
  new DataView(bytes.buffer).setUint32(1, id, false);
  bytes.set(payload, 5);
  return bytes;
}

Deno.test("decodeConfluentFrame reads the big-endian schema id and the payload", () => {
  const { schemaId, payload } = decodeConfluentFrame(frame(0x01020304, new Uint8Array([7, 8])));
  assert.deepEqual(schemaId, 0x01020304);
  assert.deepEqual([...payload], [7, 8]);
});

Deno.test("decodeConfluentFrame rejects a wrong magic byte and short input", () => {
  const wrong = frame(1, new Uint8Array([1]));
  wrong[0] = 1;
  assert.throws(
    () => decodeConfluentFrame(wrong),
    (e: unknown) =>
      e instanceof BadInputError && e.reason === "not-confluent-framing" &&
      /magic byte is 1/.test(e.message),
  );
  assert.throws(
    () => decodeConfluentFrame(new Uint8Array([0, 0, 1])),
    (e: unknown) => e instanceof BadInputError && /too short/.test(e.message),
  );
});

Deno.test("readZigZagLong/writeZigZagLong: Avro's encoding, exact at every width", () => {
  const standard = avro.Type.forSchema("long");
  const values = [0, 1, -1, 63, -64, 64, 300, -300, 2 ** 31, -(2 ** 31) - 1, 1_700_000_000_123];
  for (let bits = 40; bits <= 52; bits++) values.push(2 ** bits - 1, -(2 ** bits) + 1);
  for (const value of values) {
    const bytes = standard.toBuffer(value);
    assert.deepEqual(readZigZagLong(bytes), value, `${value}`);
    assert.deepEqual(writeZigZagLong(value), bytes, `${value}`);
  }
  const big: [bigint, number[]][] = [
    [2n ** 63n - 1n, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    [-(2n ** 63n), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    [2n ** 53n, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]],
    [-(2n ** 53n), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
  ];
  for (const [value, bytes] of big) {
    assert.deepEqual(readZigZagLong(Uint8Array.from(bytes)), value, `${value}`);
    assert.deepEqual([...writeZigZagLong(value)], bytes, `${value}`);
  }
});

Deno.test("Avro longs beyond 2^53 decode exactly as bigint, small ones as numbers", () => {
  const type = compileAvro({
    type: "record",
    name: "R",
    fields: [
      { name: "a", type: "long" },
      { name: "b", type: "long" },
      // Debezium writes logical longs as objects: MicroTimestamp of 1000-01-01 is below -2^53.
      {
        name: "c",
        type: ["null", { type: "long", "connect.name": "io.debezium.time.MicroTimestamp" }],
      },
    ],
  });
  const bytes = type.toBuffer({ a: 2n ** 63n - 1n, b: 42, c: -30610224000000000n });
  const value = decodeAvroPayload({ id: 1, schema: "long", type }, bytes) as {
    a: bigint;
    b: number;
    c: bigint;
  };
  assert.deepEqual(value.a, 9223372036854775807n);
  assert.deepEqual(value.b, 42);
  assert.deepEqual(value.c, -30610224000000000n);
});

Deno.test("truncated or trailing Avro is bad input, not a crash", () => {
  const type = compileAvro({ type: "record", name: "R", fields: [{ name: "s", type: "string" }] });
  const bytes = type.toBuffer({ s: "hello" });
  for (const broken of [bytes.subarray(0, 3), Buffer.concat([bytes, Buffer.from([1, 2, 3])])]) {
    assert.throws(
      () => decodeAvroPayload({ id: 9, schema: "x", type }, broken),
      (e: unknown) =>
        e instanceof BadInputError && e.reason === "undecodable-avro" &&
        /schema id 9/.test(e.message),
    );
  }
});

Deno.test("strings must be UTF-8: bad bytes are undecodable, not U+FFFD", () => {
  const schema = {
    type: "record",
    name: "R",
    fields: [
      { name: "s", type: "string" },
      { name: "o", type: ["null", { type: "string", "connect.name": "x" }] },
    ],
  };
  const type = compileAvro(schema);
  const good = { s: "ünï 😀 \uFFFD as itself", o: "abc" };
  const bytes = type.toBuffer(good);
  assert.deepEqual({ ...decodeAvroPayload({ id: 9, schema, type }, bytes) as object }, good);
  // a reader schema resolving the writer's (the stream's projection) checks as well
  const resolver = type.createResolver(compileAvro(schema));
  for (const at of [bytes.indexOf("ü"), bytes.indexOf("abc")]) {
    const broken = Buffer.from(bytes);
    broken[at] = 0xff;
    for (const compiled of [{ id: 9, schema, type }, { id: 9, schema, type, resolver }]) {
      assert.throws(
        () => decodeAvroPayload(compiled, broken),
        (e: unknown) =>
          e instanceof BadInputError && e.reason === "undecodable-avro" &&
          /not valid UTF-8/.test(e.message),
      );
    }
  }
});
