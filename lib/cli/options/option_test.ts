import assert from "node:assert/strict";
import { InvalidArgumentError } from "commander";
import { waitCommand } from "../commands/wait.ts";
import { byteSize, duration, envOption, integer, listenAddress } from "./option.ts";

Deno.test("envOption: a default is parsed like a given value and shown as written", () => {
  const timeout = envOption({
    flags: "--timeout <duration>",
    description: "how long",
    env: "CDC_TEST_TIMEOUT",
    default: "2m",
    parse: duration,
  });
  assert.equal(timeout.defaultValue, 120_000);
  assert.equal(timeout.defaultValueDescription, "2m");
  const plain = envOption({
    flags: "--host <h>",
    description: "h",
    env: "CDC_TEST_H",
    default: "x",
  });
  assert.equal(plain.defaultValue, "x");
  assert.equal(plain.defaultValueDescription, undefined, "commander shows the value itself");
  assert.equal(plain.envVar, "CDC_TEST_H");
});

Deno.test("envOption: a seed alias variable is parsed, named in help, and a secret stays hidden", () => {
  Deno.env.set("CDC_TEST_ALIAS_PORT", "3307");
  Deno.env.set("CDC_TEST_ALIAS_SECRET", "hunter2");
  try {
    const port = envOption({
      flags: "--port <n>",
      description: "port",
      env: "CDC_TEST_PORT",
      aliases: ["CDC_TEST_ALIAS_PORT"],
      default: "3306",
      parse: integer(1),
    });
    assert.equal(port.defaultValue, 3307);
    assert.equal(port.defaultValueDescription, "3307 from CDC_TEST_ALIAS_PORT");
    const password = envOption({
      flags: "--password <p>",
      description: "password",
      env: "CDC_TEST_PASSWORD",
      aliases: ["CDC_TEST_ALIAS_SECRET"],
      secret: true,
    });
    assert.equal(password.defaultValueDescription, "(set)");
  } finally {
    Deno.env.delete("CDC_TEST_ALIAS_PORT");
    Deno.env.delete("CDC_TEST_ALIAS_SECRET");
  }
});

Deno.test("envOption: cdc wait's --services default arrives parsed (a list of services)", () => {
  const services = waitCommand().options.find((option) => option.long === "--services");
  assert.deepEqual(services?.defaultValue, ["kafka", "registry", "connect", "mysql"]);
});

Deno.test("integer and duration: what was wrong, in the message", () => {
  assert.equal(integer(1)("42"), 42);
  assert.throws(() => integer(1)("0"), InvalidArgumentError);
  assert.equal(duration("1.5s"), 1_500);
  assert.equal(duration("250"), 250);
  assert.throws(() => duration("soon"), /expected a duration like 500ms, 30s or 2m, got "soon"/);
});

Deno.test("listenAddress: host:port, IPv6 in brackets, port 0; anything else explained", () => {
  assert.deepEqual(listenAddress("127.0.0.1:9464"), { hostname: "127.0.0.1", port: 9464 });
  assert.deepEqual(listenAddress("0.0.0.0:0"), { hostname: "0.0.0.0", port: 0 });
  assert.deepEqual(listenAddress("[::]:9464"), { hostname: "::", port: 9464 });
  assert.deepEqual(listenAddress("cdc.local:80"), { hostname: "cdc.local", port: 80 });
  for (const bad of ["9464", ":9464", "host:", "host:65536", "::1:9464", "a:b"]) {
    assert.throws(() => listenAddress(bad), /expected host:port like 127\.0\.0\.1:9464/, bad);
  }
});

Deno.test("byteSize: binary and decimal units, plain bytes; anything else explained", () => {
  assert.equal(byteSize("64MiB"), 64 * 1024 * 1024);
  assert.equal(byteSize("1.5GiB"), 1.5 * 1024 ** 3);
  assert.equal(byteSize("500kB"), 500_000);
  assert.equal(byteSize("4096"), 4096);
  for (const bad of ["", "64 mb", "-1MiB", "lots"]) {
    assert.throws(() => byteSize(bad), /expected a size like 64MiB/, bad);
  }
});
