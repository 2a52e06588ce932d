import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { LoadDataText } from "./load_data.ts";
import { LoadDataLines } from "./load_data_lines.ts";
import { GeometryValue } from "./values.ts";

const FORMAT = {
  kinds: ["plain", "text", "geometry", "bytes", "plain"] as const,
  duplicates: "ignore" as const,
};

Deno.test("LoadDataLines: chosen fields located in every line, escapes and geometries included", () => {
  const text = new LoadDataText({ ...FORMAT, kinds: [...FORMAT.kinds] });
  const point = new GeometryValue(Buffer.from("0101", "hex"), 4326);
  text.add([1, "a\tb\\é", point, Buffer.from("ff", "hex"), -12]);
  text.add([22, null, null, null, 0]);
  const lines = new LoadDataLines(text, [4, 1, 2, 0]);
  assert.equal(lines.count, 2);
  assert.equal(lines.fieldInteger(0, 0), -12);
  assert.equal(lines.fieldInteger(1, 3), 22);
  // one character per byte: é's two UTF-8 bytes are two characters
  assert.equal(lines.fieldText(0, 1), "a\\tb\\\\\xc3\xa9");
  assert.equal(lines.fieldText(0, 2), "0101\t4326", "a geometry's two fields as one");
  assert.ok(lines.isNull(1, 1) && !lines.isNull(0, 1));
  assert.equal(lines.fieldText(1, 2), "\\N\t\\N");
  const second = lines.bytes(1).toString("utf8", lines.start(1), lines.end(1));
  assert.equal(second, "22\t\\N\t\\N\t\\N\t\\N\t0");
});

Deno.test("LoadDataLines: lines across chunks; a line copied with encoded() reads the same", () => {
  const text = new LoadDataText({ kinds: ["plain", "text"], duplicates: "ignore" });
  const long = "x".repeat(1000);
  for (let i = 0; i < 200; i++) text.add([i, `${long}${i}`]);
  assert.ok(text.chunks().length > 1, "more than one chunk");
  const lines = new LoadDataLines(text, [0, 1]);
  assert.equal(lines.count, 200);
  const copy = new LoadDataText({ kinds: ["plain", "text", "plain"], duplicates: "ignore" });
  for (let line = 0; line < lines.count; line++) {
    assert.equal(lines.fieldInteger(line, 0), line);
    assert.equal(lines.fieldText(line, 1), `${long}${line}`);
    copy.encoded(lines.bytes(line), lines.start(line), lines.end(line));
    copy.integer(line * 2);
    copy.endLine();
  }
  const copied = new LoadDataLines(copy, [2, 1]);
  assert.equal(copied.fieldInteger(199, 0), 398);
  assert.equal(copied.fieldText(199, 1), `${long}199`);
});

Deno.test("LoadDataLines: a line of the wrong shape, a column chosen twice, a non-number: errors", () => {
  const text = new LoadDataText({ kinds: ["plain", "text"], duplicates: "ignore" });
  text.encoded(new TextEncoder().encode("1\ta\tb"), 0, 5);
  text.endLine();
  assert.throws(() => new LoadDataLines(text, [0]), /line 1 has over 2 fields/);
  const short = new LoadDataText({ kinds: ["plain", "text"], duplicates: "ignore" });
  short.integer(1);
  short.endLine();
  assert.throws(() => new LoadDataLines(short, [0]), /line 1 has 1 fields, not 2/);
  const good = new LoadDataText({ kinds: ["plain", "text"], duplicates: "ignore" });
  good.add([1, "12a"]);
  assert.throws(() => new LoadDataLines(good, [0, 0]), /column 0 cannot be chosen/);
  const lines = new LoadDataLines(good, [1, 0]);
  assert.throws(() => lines.fieldInteger(0, 0), /"12a" is not a whole number/);
  assert.ok(Number.isNaN(lines.fieldNumber(0, 0)));
  assert.equal(lines.fieldNumber(0, 1), 1);
});
