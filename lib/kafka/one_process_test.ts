import assert from "node:assert/strict";
import { chooseMember } from "./one_process.ts";

Deno.test("chooseMember: the active process keeps the partitions; else the first started", () => {
  const member = (memberId: string, active: boolean, since: number) => ({
    memberId,
    state: { active, since },
  });
  assert.equal(chooseMember([member("a", false, 1), member("b", true, 5)]), "b");
  assert.equal(chooseMember([member("a", false, 9), member("b", false, 5)]), "b");
  assert.equal(chooseMember([member("b", false, 5), member("a", false, 5)]), "a", "ties by id");
  assert.equal(chooseMember([]), undefined);
});
