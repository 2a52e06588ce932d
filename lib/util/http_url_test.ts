import assert from "node:assert/strict";
import { endpoint } from "./http_url.ts";

Deno.test("endpoint: credentials become Basic auth and leave the URL", () => {
  assert.deepEqual(endpoint("http://user:p%40ss@connect:8083/"), {
    baseUrl: "http://connect:8083",
    authorization: `Basic ${btoa("user:p@ss")}`,
  });
  assert.deepEqual(endpoint("http://registry:8080/apis/ccompat/v7"), {
    baseUrl: "http://registry:8080/apis/ccompat/v7",
    authorization: undefined,
  });
  assert.throws(() => endpoint("not a url"));
});
