import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import type { CaseGroup } from "./plan.ts";
import { caseCosts, caseId, parseShard, shardPlan } from "./shard.ts";
import type { RunFile } from "./results/schema.ts";

// Only the fields the split reads: the task id, the case key and the cell count.
const group = (task: string, caseKey: string, cells: number) =>
  ({ task: { meta: { id: task } }, caseKey, cells: Array(cells).fill({}) }) as unknown as CaseGroup;

Deno.test("parseShard() takes i/n with 1 ≤ i ≤ n and refuses the rest by name", () => {
  assertEquals(parseShard("2/4"), { index: 2, count: 4 });
  for (const bad of ["0/2", "3/2", "1/0", "2", "a/b", "1/2/3"]) {
    assertThrows(() => parseShard(bad), RangeError, "--shard must be i/n");
  }
});

Deno.test("shardPlan() gives every case to exactly one shard, the same way every time", () => {
  const groups = Array.from({ length: 9 }, (_, i) => group(`t${i % 3}`, `n=${i}`, 1 + (i % 4)));
  for (const count of [1, 2, 3, 5]) {
    const parts = Array.from(
      { length: count },
      (_, i) => shardPlan(groups, { index: i + 1, count }),
    );
    const seen = parts.flatMap((p) => p.groups);
    assertEquals(seen.length, groups.length);
    assertEquals(new Set(seen).size, groups.length);
    // Every shard computes the same split.
    assertEquals(new Set(parts.map((p) => p.planHash)).size, 1);
    // Plan order is kept within a shard.
    for (const p of parts) {
      const at = p.groups.map((g) => groups.indexOf(g));
      assertEquals(at, at.slice().sort((a, b) => a - b));
    }
  }
});

Deno.test("shardPlan() balances by recorded cost, longest first, and by cells without history", () => {
  const groups = [group("a", "1", 1), group("a", "2", 1), group("b", "1", 1), group("b", "2", 1)];
  // Costs 10, 7, 6, 3, longest first: 10 on shard 1, 7 on shard 2, 6 on the lighter shard 2
  // (13), 3 on shard 1 (13).
  const costs = new Map([
    [caseId("a", "1"), 10],
    [caseId("a", "2"), 7],
    [caseId("b", "1"), 6],
    [caseId("b", "2"), 3],
  ]);
  const one = shardPlan(groups, { index: 1, count: 2 }, costs);
  assertEquals(one.groups.map((g) => `${g.task.meta.id}${g.caseKey}`), ["a1", "b2"]);
  assertEquals(one.shardCosts, [13, 13]);
  // Another history is another plan: shards planned from it must not be merged with these.
  const other = shardPlan(groups, { index: 1, count: 2 }, new Map([[caseId("b", "2"), 99]]));
  assert(other.planHash !== one.planHash);
  // Without history, a case costs its cell count: a 3-cell case alone on one shard.
  const byCells = shardPlan([group("x", "1", 3), group("y", "1", 1), group("z", "1", 1)], {
    index: 1,
    count: 2,
  });
  assertEquals(byCells.groups.map((g) => g.task.meta.id), ["x"]);
});

Deno.test("caseCosts() sums a case's cells in the newest run holding it", () => {
  const cell = (task: string, kase: string, ms: number) => ({
    key: `${task}|${kase}|m|`,
    task: { id: task },
    startedAt: new Date(0).toISOString(),
    endedAt: new Date(ms).toISOString(),
  });
  const run = (startedAt: string, cells: unknown[]) => ({ startedAt, cells }) as unknown as RunFile;
  const costs = caseCosts([
    run("2026-01-02", [cell("t", "n=1", 5), cell("t", "n=1", 7)]),
    run("2026-01-01", [cell("t", "n=1", 100), cell("t", "n=2", 4)]),
  ]);
  assertEquals(costs.get(caseId("t", "n=1")), 12);
  assertEquals(costs.get(caseId("t", "n=2")), 4);
});
