/**
 * Where the objects that outlive a scavenge come from: samples a running `cdc stream`'s heap
 * allocations over the V8 inspector, leaving out what minor GCs collect, and prints the
 * allocation sites with the most bytes (the last frames of each stack). With `--all`, every
 * allocation is sampled, short-lived ones too (where the garbage comes from).
 *
 *   deno run -A --inspect-wait=127.0.0.1:9339 --v8-flags=... main.ts stream ... &  # a backlog
 *   deno run -A tests/bench/heap_survivors.ts 127.0.0.1:9339 3 [--all]   # starts it, samples 3 s
 *
 * @module
 */
interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const all = Deno.args.includes("--all");
const [inspector = "127.0.0.1:9339", seconds = "3"] = Deno.args.filter((a) => a !== "--all");
const targets = await (await fetch(`http://${inspector}/json/list`)).json();
const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
const replies = new Map<number, (result: unknown) => void>();
socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  replies.get(message.id)?.(message.result ?? message.error);
  replies.delete(message.id);
};
await new Promise((resolve) => socket.onopen = resolve);
let lastId = 0;
const call = (method: string, params: Record<string, unknown> = {}) =>
  new Promise<unknown>((resolve) => {
    replies.set(++lastId, resolve);
    socket.send(JSON.stringify({ id: lastId, method, params }));
  });

await call("HeapProfiler.enable");
await call("HeapProfiler.startSampling", {
  samplingInterval: 4096,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: all,
});
// a process started with --inspect-wait runs from here, so the sample covers its start
await call("Runtime.runIfWaitingForDebugger");
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
const { profile } = await call("HeapProfiler.stopSampling") as { profile: { head: ProfileNode } };
socket.close();

const bySite = new Map<string, number>();
const walk = (node: ProfileNode, stack: string[]) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const frame = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${
    lineNumber + 1
  }`;
  const site = [...stack.slice(-3), frame].join(" < ");
  if (node.selfSize) bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child, [...stack, frame]);
};
walk(profile.head, []);
const total = [...bySite.values()].reduce((a, b) => a + b, 0);
console.log(
  `${(total / 1e6).toFixed(1)} MB sampled ${all ? "in all" : "that outlived a scavenge"}, by site:`,
);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  console.log(`${(bytes / 1e6).toFixed(2).padStart(7)} MB  ${site}`);
}
