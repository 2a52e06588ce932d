import assert from "node:assert/strict";
import { configureLogging, logger } from "./log.ts";

/** Logs `message` through a configured logger and returns what reached the sink. */
function logged(format: "text" | "json", message: string): string {
  const decoder = new TextDecoder();
  let out = "";
  configureLogging("info", format, (bytes) => out += decoder.decode(bytes));
  logger("test").info(message);
  return out;
}

const MESSAGE = '--table-template "foo" must contain {table}; schema {"a":{"b":[1]}} {{x}} }{';

Deno.test("log: text lines keep braces, JSON and doubled braces verbatim", () => {
  const line = logged("text", MESSAGE);
  assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d(:\d\d)? \[INF\] cdc\.test: /);
  assert.equal(line.slice(line.indexOf("cdc.test: ")), `cdc.test: ${MESSAGE}\n`);
});

Deno.test("log: JSON lines carry the message verbatim", () => {
  assert.equal(JSON.parse(logged("json", MESSAGE)).message, MESSAGE);
});
