/**
 * UTF-8 checked byte by byte, where text goes on as bytes (the history path copies Avro strings
 * into LOAD DATA text) or where a decoder would otherwise replace bad bytes with U+FFFD.
 *
 * @module
 */

/** Text that is not UTF-8, where Avro promises UTF-8: the record is undecodable. */
export class InvalidUtf8Error extends Error {
  constructor(at: number) {
    super(`a string is not valid UTF-8 (byte ${at} of it)`);
    this.name = "InvalidUtf8Error";
  }
}

/**
 * The length of the UTF-8 sequence starting at `bytes[i]` (a byte of 0x80 or above, before
 * `end`), or 0 when it is not a valid one (RFC 3629: no overlong forms, no surrogates, nothing
 * beyond U+10FFFF).
 */
export function utf8SequenceLength(bytes: Uint8Array, i: number, end: number): number {
  const b = bytes[i];
  let n: number, low = 0x80, high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) n = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b === 0xe0) low = 0xa0;
    else if (b === 0xed) high = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b === 0xf0) low = 0x90;
    else if (b === 0xf4) high = 0x8f;
  } else return 0;
  if (i + n > end) return 0;
  if (bytes[i + 1] < low || bytes[i + 1] > high) return 0;
  for (let k = 2; k < n; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return 0;
  return n;
}

/** Where `bytes[start]` up to `end` stops being UTF-8 (relative to `start`), or -1 if it is. */
export function invalidUtf8At(bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    if (bytes[i] < 0x80) continue;
    const n = utf8SequenceLength(bytes, i, end);
    if (n === 0) return i - start;
    i += n - 1;
  }
  return -1;
}
