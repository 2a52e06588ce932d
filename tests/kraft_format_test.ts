/**
 * The stack's `kafka-storage format` arguments against the real tool (Kafka's StorageTool
 * from the stack's cached classpath): a KRaft cluster id beginning with `-` formats.
 */
import assert from "node:assert/strict";
import { kafkaClasspath } from "../tools/stack/artifacts.ts";
import { kafkaJdk } from "../tools/stack/java.ts";
import { run } from "../tools/stack/proc.ts";
import { storageFormatArgs } from "../tools/stack/services.ts";

Deno.test("kafka-storage formats with a cluster id that begins with '-'", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cdc-kraft-" });
  try {
    const config = `${dir}/server.properties`;
    // ports are never opened: format only reads the configuration
    await Deno.writeTextFile(
      config,
      [
        "process.roles=broker,controller",
        "node.id=1",
        "controller.quorum.voters=1@127.0.0.1:1",
        "listeners=PLAINTEXT://127.0.0.1:2,CONTROLLER://127.0.0.1:1",
        "controller.listener.names=CONTROLLER",
        `log.dirs=${dir}/data`,
      ].join("\n"),
    );
    const id = "-AbCdEfGhIjKlMnOpQrStUw";
    const storageTool = async (args: string[]) =>
      run((await kafkaJdk()).java, [
        "-cp",
        `${await kafkaClasspath(() => {})}/*`,
        "kafka.tools.StorageTool",
        ...args,
      ]);
    // the id as an argument of its own is what failed (the reason for the one-argument form)
    const apart = await storageTool(["format", "--cluster-id", id, "--config", config]);
    assert.notEqual(apart.code, 0);
    assert.match(apart.stderr, /--cluster-id\/-t: expected one argument/);

    const result = await storageTool(storageFormatArgs(id, config));
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const meta = await Deno.readTextFile(`${dir}/data/meta.properties`);
    assert.match(meta, new RegExp(`^cluster.id=${id}$`, "m"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
