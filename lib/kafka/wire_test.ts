import assert from "node:assert/strict";
import { WireReader, WireWriter } from "./wire.ts";

Deno.test("WireWriter/WireReader: Kafka's primitive types round-trip", () => {
  const bytes = new WireWriter().int8(-2).int16(-300).int32(-70_000).int64(-1).int64(2 ** 50 + 3)
    .string("ünï").string(null).bytes(Buffer.from("ab")).done();
  const r = new WireReader(bytes);
  assert.deepEqual(
    [r.int8(), r.int16(), r.int32(), r.int64(), r.int64(), r.string(), r.string(), r.bytes()],
    [-2, -300, -70_000, -1, 2 ** 50 + 3, "ünï", null, Buffer.from("ab")],
  );
  assert.equal(r.at, bytes.length);
});

Deno.test("WireReader.varint: zigzag varints, one to several bytes", () => {
  // 0 → 0, -1 → 1, 1 → 2, 63 → 126, -65 → 129 (two bytes), 300 → 600 (two bytes)
  const r = new WireReader(Buffer.from([0x00, 0x01, 0x02, 0x7e, 0x81, 0x01, 0xd8, 0x04]));
  assert.deepEqual([r.varint(), r.varint(), r.varint(), r.varint(), r.varint(), r.varint()], [
    0,
    -1,
    1,
    63,
    -65,
    300,
  ]);
});

Deno.test("WireReader.varint: a varlong past 32 bits (a timestamp delta) stays exact", () => {
  const r = new WireReader(
    Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f]),
  );
  assert.deepEqual([r.varint(), r.varint()], [2 ** 40, -(2 ** 40)]);
});
