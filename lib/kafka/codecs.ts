/**
 * The codecs a Kafka record batch may be compressed with (the low three bits of its
 * attributes): none, gzip, snappy, lz4 and zstd. A topic's `compression.type` makes the
 * broker recompress whatever producers send, so any of them can reach a consumer.
 *
 * gzip and zstd come from the runtime (`node:zlib`); lz4 (the LZ4 frame format) and snappy
 * from `@platformatic/wasm-utils`, a WebAssembly build of the Rust codecs whose `bundled`
 * entry carries its module inline, so the compiled binary needs no file and no permission
 * for it (the measured choice: docs/design.md, "Why these libraries"; BENCHMARKS.md).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { lz4Decompress, snappyDecompress } from "@platformatic/wasm-utils/bundled";

/** Codec names by their number in a record batch's attributes. */
export const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

/** The name of codec number `codec`, or `codec <n>` for one Kafka does not define. */
export function codecName(codec: number): string {
  return CODECS[codec] ?? `codec ${codec}`;
}

/**
 * The records section of a batch, decompressed. Throws for a codec Kafka does not define
 * and for bytes the codec cannot read (the batch is corrupt).
 */
export function decompress(codec: number, bytes: Buffer): Buffer {
  switch (codec) {
    case 1:
      return gunzipSync(bytes);
    case 2:
      return snappy(bytes);
    case 3:
      return lz4Decompress(bytes);
    case 4:
      return zstdDecompressSync(bytes);
    default:
      throw new Error(`${codecName(codec)} is not a Kafka codec (none, gzip, snappy, lz4, zstd)`);
  }
}

/** The header of xerial's snappy stream framing, which Kafka's Java clients write. */
const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
/** Magic, then a version and a compatible version (int32 each). */
const XERIAL_HEADER = XERIAL_MAGIC.length + 8;

/**
 * Snappy as Kafka carries it: Java clients (and the broker, recompressing) write xerial's
 * framing, a header and then blocks of raw snappy each behind its int32 length; other
 * clients (librdkafka may) write one raw snappy block.
 */
function snappy(bytes: Buffer): Buffer {
  if (!XERIAL_MAGIC.every((b, i) => bytes[i] === b)) return snappyDecompress(bytes);
  const blocks: Buffer[] = [];
  for (let at = XERIAL_HEADER; at < bytes.length;) {
    if (at + 4 > bytes.length) throw new Error(`snappy block length cut off at byte ${at}`);
    const length = bytes.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > bytes.length) {
      throw new Error(`snappy block of ${length} bytes at byte ${at} runs past the batch`);
    }
    blocks.push(snappyDecompress(bytes.subarray(at, at + length)));
    at += length;
  }
  return blocks.length === 1 ? blocks[0] : Buffer.concat(blocks);
}
