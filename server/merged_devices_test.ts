import { assert, assertEquals } from "../tests/assert.ts";
import { aggregate } from "./aggregate.ts";
import { deviceOf, deviceOfCell } from "./devices.ts";
import { makeRun } from "./testdata/fixture.ts";
import type { RunFile } from "../bench/results/schema.ts";

// A merged run whose two shards ran on different hosts: cells of shard 2 are that host's.
function mergedRun(): RunFile {
  const a = makeRun({ runId: "shard-a", cpuModel: "Host A" });
  const b = makeRun({ runId: "shard-b", cpuModel: "Host B", cores: 4 });
  const half = Math.ceil(a.cells.length / 2);
  return {
    ...a,
    runId: "merged",
    cells: a.cells.map((c, i) => ({ ...c, shard: i < half ? 1 : 2 })),
    shards: [a, b].map((r, i) => ({
      index: i + 1,
      count: 2,
      runId: r.runId,
      status: r.status,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      environment: r.environment,
    })),
  };
}

Deno.test("a merged run's cells keep their own shard's device", () => {
  const run = mergedRun();
  const first = deviceOfCell(run, run.cells[0]);
  const last = deviceOfCell(run, run.cells.at(-1)!);
  assertEquals(first.id, deviceOf(run).id);
  assert(first.id !== last.id, "shard 2's host is another device");
  assert(last.label.includes("Host B, 4 cores"), last.label);
  const data = aggregate([run]);
  assertEquals(data.devices.size, 2);
  for (const device of data.devices.values()) assertEquals(device.runIds, ["merged"]);
  const rowDevices = new Set(
    [...data.methodRows.values()].flat().map((r) => r.deviceId),
  );
  assertEquals(rowDevices, new Set([first.id, last.id]));
});
