/**
 * Which lz4 and snappy library `cdc` decompresses with (lib/kafka/codecs.ts): the candidates
 * that run in the compiled binary without a native addon, on record batches made of the
 * benchmark's real Debezium events, against node:zlib's gzip and zstd for scale.
 *
 * `deno run -A tests/bench/codec_libraries.ts <topic> [records]` reads the records of a topic
 * (e.g. one `deno task bench` left, or any Debezium topic), packs their values into 256 KiB
 * record sections (what a fetch brings per partition), compresses each with every library and
 * reports, per library, the median over 5 rounds of MiB/s decompressed, and a cross-check that
 * each library reads the others' output.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import * as wasm from "@platformatic/wasm-utils/bundled";
import lz4js from "lz4js";
import snappyjs from "snappyjs";
import { median } from "./stats.ts";
import { readRecordValues } from "./source.ts";

const [topic, count = "50000"] = Deno.args;
if (!topic) {
  console.error("usage: deno run -A tests/bench/codec_libraries.ts <topic> [records]");
  Deno.exit(2);
}
const values = await readRecordValues(topic, Number(count));
const sections: Buffer[] = [];
for (let at = 0; at < values.length;) {
  const parts: Uint8Array[] = [];
  let size = 0;
  while (at < values.length && size < 256 * 1024) {
    parts.push(values[at]);
    size += values[at++].length;
  }
  sections.push(Buffer.concat(parts));
}
const total = sections.reduce((sum, s) => sum + s.length, 0);

const candidates: [string, (b: Buffer) => Uint8Array, (b: Buffer) => Uint8Array][] = [
  ["gzip, node:zlib", gzipSync, gunzipSync],
  ["zstd, node:zlib", zstdCompressSync, zstdDecompressSync],
  ["lz4, @platformatic/wasm-utils", wasm.lz4Compress, wasm.lz4Decompress],
  ["lz4, lz4js", (b) => lz4js.compress(b), (b) => lz4js.decompress(b)],
  ["snappy, @platformatic/wasm-utils", wasm.snappyCompress, wasm.snappyDecompress],
  ["snappy, snappyjs", (b) => snappyjs.compress(b), (b) => snappyjs.uncompress(b)],
];
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), b) === 0;
console.log(
  `${values.length} records of ${topic}: ${(total / 2 ** 20).toFixed(1)} MiB in ` +
    `${sections.length} sections of up to 256 KiB`,
);
for (const [name, compress, decompress] of candidates) {
  const packed = sections.map((s) => Buffer.from(compress(s)));
  const others = candidates.filter(([n]) => n.split(",")[0] === name.split(",")[0]);
  const readsAll = others.every(([, otherCompress]) =>
    sections.every((s) => same(decompress(Buffer.from(otherCompress(s))), s))
  );
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (const p of packed) decompress(p);
    rounds.push(total / 2 ** 20 / ((performance.now() - started) / 1000));
  }
  const ratio = packed.reduce((sum, p) => sum + p.length, 0) / total;
  console.log(
    `| ${name} | ${Math.round(median(rounds))} MiB/s | rounds ${
      rounds.map(Math.round).join(", ")
    } | size ${(ratio * 100).toFixed(0)} % | reads the others' output: ${readsAll} |`,
  );
}
