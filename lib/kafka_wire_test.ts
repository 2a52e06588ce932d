import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer, type Server, type Socket } from "node:net";
import {
  brokerAddress,
  BrokerConnection,
  KafkaProtocolError,
  ScramClient,
  WireReader,
  WireWriter,
} from "./kafka_wire.ts";

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

Deno.test("brokerAddress: host:port, IPv6 in brackets, and a clear error otherwise", () => {
  assert.deepEqual(brokerAddress("kafka:9092"), { host: "kafka", port: 9092 });
  assert.deepEqual(brokerAddress("[::1]:19092"), { host: "::1", port: 19092 });
  assert.throws(() => brokerAddress("kafka"), /Kafka broker "kafka" is not host:port/);
});

Deno.test("ScramClient: the SCRAM-SHA-256 exchange of RFC 7677", () => {
  const scram = new ScramClient("sha256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  assert.equal(scram.first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const final = scram.final(
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  );
  assert.equal(
    final,
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  scram.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  assert.throws(
    () => scram.verify("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
    /the server's SCRAM signature does not match/,
  );
  assert.throws(() => scram.verify("e=invalid-proof"), /SASL authentication failed: invalid-proof/);
});

Deno.test("ScramClient: a server nonce not extending the client's is refused", () => {
  const scram = new ScramClient("sha512", "u", "p", "abc");
  scram.first();
  assert.throws(() => scram.final("r=xyz,s=c2FsdA==,i=4096"), /unexpected SCRAM server message/);
});

Deno.test("KafkaProtocolError: the code's name, and what to do when access is denied", () => {
  assert.equal(
    new KafkaProtocolError("fetching t[0]", 6).message,
    "fetching t[0]: Kafka error 6 NOT_LEADER_OR_FOLLOWER",
  );
  assert.match(
    new KafkaProtocolError("fetching t[0]", 29).message,
    /Kafka error 29 TOPIC_AUTHORIZATION_FAILED \(the Kafka user needs READ on the topic/,
  );
  assert.equal(
    new KafkaProtocolError("fetching t[0]", 87).message,
    "fetching t[0]: Kafka error 87",
  );
});

/** A local TCP peer that hands each connection to `serve` (framing tests; no Kafka semantics). */
async function peer(serve: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** A response frame: size, correlation id, body. */
function frame(correlation: number, body: string): Buffer {
  const bytes = Buffer.from(body);
  return new WireWriter().int32(4 + bytes.length).int32(correlation).raw(bytes).done();
}

Deno.test("BrokerConnection: responses split across chunks, or two in one, reach their requests", async () => {
  const { server, port } = await peer((socket) => {
    socket.once("data", () => {
      // the second request answered first, in one write with the first bytes of the answer
      // to the first; the rest of that one a byte at a time
      const first = frame(1, "first answer");
      socket.write(Buffer.concat([frame(2, "second"), first.subarray(0, 7)]));
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
