import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer, type Server, type Socket } from "node:net";
import { BrokerConnection, commonVersion, parseApiVersions } from "./broker.ts";
import { FETCH_VERSIONS as FETCH } from "./fetch.ts";
import { API, WireWriter } from "./wire.ts";

/** An ApiVersions response: `[api, min, max]` per API the broker offers. */
function apiVersionsBody(versions: readonly (readonly [number, number, number])[]): Buffer {
  const body = new WireWriter().int16(0);
  body.array(versions, ([api, min, max]) => body.int16(api).int16(min).int16(max));
  return body.int32(0).done();
}

/** What the test peers offer: Fetch v4-v17 and Metadata v0-v13, as Kafka 4.1 does. */
const OFFERED = [[1, 4, 17], [3, 0, 13]] as const;

/**
 * A local TCP peer (framing tests; no Kafka semantics beyond this): it answers the
 * ApiVersions request every connection begins with, offering `versions`, then hands the
 * connection to `serve`.
 */
async function peer(
  serve: (socket: Socket) => void,
  versions: readonly (readonly [number, number, number])[] = OFFERED,
): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let buffered = Buffer.alloc(0);
    const first = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4 || buffered.length < 4 + buffered.readInt32BE(0)) return;
      socket.off("data", first);
      assert.equal(buffered.readInt16BE(4), API.apiVersions, "ApiVersions comes first");
      const body = apiVersionsBody(versions);
      socket.write(
        new WireWriter().int32(4 + body.length).int32(buffered.readInt32BE(8)).raw(body).done(),
      );
      serve(socket);
    };
    socket.on("data", first);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** A response frame: size, correlation id, body. */
function frame(correlation: number, body: string): Buffer {
  const bytes = Buffer.from(body);
  return new WireWriter().int32(4 + bytes.length).int32(correlation).raw(bytes).done();
}

Deno.test("commonVersion: the highest version both speak, or a message naming both ranges", () => {
  const broker = parseApiVersions(apiVersionsBody(OFFERED));
  assert.equal(commonVersion(API.fetch, broker, { min: 4, max: 11 }), 11);
  assert.equal(commonVersion(API.metadata, broker, { min: 5, max: 8 }), 8);
  const old = parseApiVersions(apiVersionsBody([[1, 0, 9]]));
  assert.equal(commonVersion(API.fetch, old, { min: 4, max: 11 }), 9);
  assert.throws(
    () => commonVersion(API.fetch, parseApiVersions(apiVersionsBody([[1, 0, 3]])), FETCH),
    /the Kafka broker speaks Fetch v0-v3 and cdc v4-v11: none in common/,
  );
  assert.throws(
    () => commonVersion(API.metadata, old, { min: 5, max: 8 }),
    /the Kafka broker does not offer Metadata requests/,
  );
});

Deno.test("BrokerConnection: the broker's API versions are asked for when it opens", async () => {
  const { server, port } = await peer(() => {}, [[1, 4, 9], [3, 1, 12]]);
  const connection = await BrokerConnection.open({ host: "127.0.0.1", port }, { brokers: [] });
  try {
    assert.equal(connection.version(API.fetch, FETCH), 9);
  } finally {
    connection.close();
    server.close();
  }
});

Deno.test("BrokerConnection: responses split across chunks, or two in one, reach their requests", async () => {
  const { server, port } = await peer((socket) => {
    socket.once("data", () => {
      // (ApiVersions was 1) the second request answered first, in one write with the first bytes of the answer
      // to the first; the rest of that one a byte at a time
      const first = frame(2, "first answer");
      socket.write(Buffer.concat([frame(3, "second"), first.subarray(0, 7)]));
      for (const byte of first.subarray(7)) socket.write(Uint8Array.of(byte));
    });
  });
  const connection = await BrokerConnection.open({ host: "127.0.0.1", port }, { brokers: [] });
  try {
    const [a, b] = await Promise.all([
      connection.request(1, 0, Buffer.from("one")),
      connection.request(1, 0, Buffer.from("two")),
    ]);
    assert.deepEqual([a.toString(), b.toString()], ["first answer", "second"]);
  } finally {
    connection.close();
    server.close();
  }
});

Deno.test("BrokerConnection: a broker that never answers fails the request after its timeout", async () => {
  const { server, port } = await peer(() => {});
  const connection = await BrokerConnection.open({ host: "127.0.0.1", port }, { brokers: [] });
  try {
    await assert.rejects(
      connection.request(1, 4, Buffer.from("fetch"), 200),
      /127\.0\.0\.1:\d+ did not answer within 200 ms/,
    );
    await assert.rejects(
      connection.request(1, 4, Buffer.alloc(0)),
      /did not answer/,
      "closed since",
    );
  } finally {
    connection.close();
    server.close();
  }
});
