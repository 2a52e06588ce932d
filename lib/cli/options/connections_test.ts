import assert from "node:assert/strict";
import { CliError, EXIT } from "../errors.ts";
import { kafkaConnection } from "./kafka.ts";
import { mysqlEndpoint } from "./mysql.ts";

Deno.test("kafkaConnection: brokers, SASL with a password file, TLS with a CA file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/password`, "s3cret\n");
    await Deno.writeTextFile(`${dir}/ca.pem`, "PEM");
    assert.deepEqual(await kafkaConnection({ bootstrapServers: " a:1, b:2 ," }), {
      brokers: ["a:1", "b:2"],
    });
    assert.deepEqual(
      await kafkaConnection({
        bootstrapServers: "a:1",
        kafkaSaslMechanism: "scram-sha-512",
        kafkaUsername: "cdc",
        kafkaPassword: "overridden by the file",
        kafkaPasswordFile: `${dir}/password`,
        kafkaCaFile: `${dir}/ca.pem`,
      }),
      {
        brokers: ["a:1"],
        sasl: { mechanism: "scram-sha-512", username: "cdc", password: "s3cret" },
        tls: { ca: ["PEM"] },
      },
    );
    assert.equal((await kafkaConnection({ bootstrapServers: "a:1", kafkaTls: true })).tls, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kafkaConnection: SASL without a user or password is a usage error naming the fix", async () => {
  const error = await kafkaConnection({ bootstrapServers: "a:1", kafkaSaslMechanism: "plain" })
    .catch((e) => e);
  assert.ok(error instanceof CliError);
  assert.equal(error.exitCode, EXIT.usage);
  assert.match(error.message, /needs --kafka-username and a password \(CDC_KAFKA_PASSWORD/);
  await assert.rejects(
    kafkaConnection({ bootstrapServers: "a:1", kafkaCaFile: "/nonexistent/ca.pem" }),
    /cannot read the Kafka CA file \/nonexistent\/ca\.pem/,
  );
});

Deno.test("mysqlEndpoint: password from its file, TLS verified (against the CA file if given)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/password`, "pw\r\n");
    await Deno.writeTextFile(`${dir}/ca.pem`, "PEM");
    const base = { mysqlHost: "db", mysqlPort: 3306, mysqlUser: "cdc" };
    assert.deepEqual(await mysqlEndpoint({ ...base, mysqlPassword: "p" }), {
      host: "db",
      port: 3306,
      user: "cdc",
      password: "p",
    });
    assert.deepEqual(
      await mysqlEndpoint({
        ...base,
        mysqlPasswordFile: `${dir}/password`,
        mysqlCaFile: `${dir}/ca.pem`,
      }),
      {
        host: "db",
        port: 3306,
        user: "cdc",
        password: "pw",
        ssl: { ca: "PEM", rejectUnauthorized: true },
      },
    );
    assert.deepEqual((await mysqlEndpoint({ ...base, mysqlTls: true })).ssl, {
      rejectUnauthorized: true,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
