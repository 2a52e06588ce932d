/**
 * A minimal Kafka protocol client for readiness checks: ApiVersions, then Metadata,
 * over plain TCP with Deno's APIs (no npm), so the stack CLI needs no Kafka library.
 *
 * @module
 */

const API_METADATA = 3;
const API_VERSIONS = 18;
const CLIENT_ID = "cdc-stack-probe";

class Writer {
  #bytes: number[] = [];
  int8(v: number) {
    this.#bytes.push(v & 0xff);
    return this;
  }
  int16(v: number) {
    return this.int8(v >> 8).int8(v);
  }
  int32(v: number) {
    return this.int16(v >> 16).int16(v);
  }
  string(s: string) {
    const b = new TextEncoder().encode(s);
    this.int16(b.length);
    this.#bytes.push(...b);
    return this;
  }
  framed(): Uint8Array {
    const body = this.#bytes;
    return Uint8Array.from([...new Writer().int32(body.length).#bytes, ...body]);
  }
}

class Reader {
  #view: DataView;
  #pos = 0;
  constructor(bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  int16() {
    const v = this.#view.getInt16(this.#pos);
    this.#pos += 2;
    return v;
  }
  int32() {
    const v = this.#view.getInt32(this.#pos);
    this.#pos += 4;
    return v;
  }
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const read = await conn.read(out.subarray(got));
    if (read === null) throw new Error("connection closed by broker");
    got += read;
  }
  return out;
}

async function call(
  conn: Deno.Conn,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: (w: Writer) => void,
): Promise<Reader> {
  const w = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).string(CLIENT_ID);
  body(w);
  await conn.write(w.framed());
  const size = new DataView((await readExactly(conn, 4)).buffer).getInt32(0);
  const reader = new Reader(await readExactly(conn, size));
  if (reader.int32() !== correlationId) throw new Error("unexpected correlation id");
  return reader;
}

/**
 * Asks the broker at host:port for its metadata and returns how many brokers it
 * lists (0 or an exception means "not ready").
 */
export async function kafkaBrokerCount(
  hostname: string,
  port: number,
  timeoutMs = 3000,
): Promise<number> {
  const conn = await Deno.connect({ hostname, port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const versions = await call(conn, API_VERSIONS, 0, 1, () => {});
    const error = versions.int16();
    if (error !== 0) throw new Error(`ApiVersions error ${error}`);
    let metadataRange: [number, number] | undefined;
    for (let i = versions.int32(); i > 0; i--) {
      const key = versions.int16();
      const min = versions.int16();
      const max = versions.int16();
      if (key === API_METADATA) metadataRange = [min, max];
    }
    if (!metadataRange) throw new Error("broker offers no Metadata API");
    // v4..v8 share one non-flexible layout: topics (nullable array), allow auto-creation
    // (+ two authorized-operations flags from v8).
    const version = Math.max(metadataRange[0], 4);
    if (version > 8 || version > metadataRange[1]) return 1; // ApiVersions answered: good enough
    const metadata = await call(conn, API_METADATA, version, 2, (w) => {
      w.int32(0).int8(0);
      if (version >= 8) w.int8(0).int8(0);
    });
    metadata.int32(); // throttle_time_ms
    return metadata.int32(); // number of brokers
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // already closed by the timer
    }
  }
}
