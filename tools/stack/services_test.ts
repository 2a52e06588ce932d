import assert from "node:assert/strict";
import { kraftClusterId, storageFormatArgs } from "./services.ts";

Deno.test("kraftClusterId: a version-4 UUID in unpadded base64url, as kafka-storage makes", () => {
  for (let i = 0; i < 200; i++) {
    const id = kraftClusterId();
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    const bytes = Uint8Array.from(
      atob(id.replaceAll("-", "+").replaceAll("_", "/") + "=="),
      (c) => c.charCodeAt(0),
    );
    assert.equal(bytes[6] >> 4, 4, "version 4");
    assert.equal(bytes[8] >> 6, 0b10, "RFC 4122 variant");
  }
});

Deno.test("storageFormatArgs: a cluster id beginning with '-' cannot read as an option", () => {
  const args = storageFormatArgs("-AbCdEfGhIjKlMnOpQrStUw", "/x/server.properties");
  // kafka-storage (argparse4j) takes --cluster-id=<id> as one argument, whatever the id
  assert.deepEqual(args, [
    "format",
    "--cluster-id=-AbCdEfGhIjKlMnOpQrStUw",
    "--config",
    "/x/server.properties",
  ]);
  assert.ok(!args.some((arg) => arg.startsWith("-A")), "the id is never an argument of its own");
});
