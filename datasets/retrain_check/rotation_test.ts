import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { rotationSample, runIndexOfDate } from "./rotation.ts";
import type { RotationEntry } from "./rotation.ts";

const ENTRIES: RotationEntry[] = [
  ...["s-c", "s-a", "s-b", "s-e", "s-d"].map((name) => ({
    name,
    kind: "sparse-training" as const,
  })),
  ...["g-b", "g-a", "g-c"].map((name) => ({ name, kind: "moe-gate" as const })),
];

Deno.test("rotationSample() picks one recipe of each kind per run", () => {
  const picks = rotationSample(ENTRIES, 0);
  assertEquals(picks.map((p) => p.kind), ["moe-gate", "sparse-training"]);
  assertEquals(picks.map((p) => p.name), ["g-a", "s-a"]);
  assertEquals(picks.map((p) => p.of), [3, 5]);
});

Deno.test("rotationSample() covers every recipe of a kind within its list's length of runs", () => {
  for (const start of [0, 7, 20_424, -3]) {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      for (const pick of rotationSample(ENTRIES, start + i)) seen.add(pick.name);
    }
    assertEquals([...seen].sort(), ENTRIES.map((e) => e.name).sort());
  }
});

Deno.test("rotationSample() is deterministic and ignores registry order", () => {
  const reversed = [...ENTRIES].reverse();
  for (const index of [0, 1, 2, 99, -1]) {
    assertEquals(rotationSample(ENTRIES, index), rotationSample(reversed, index));
  }
});

Deno.test("rotationSample() refuses a fractional run index", () => {
  assertThrows(() => rotationSample(ENTRIES, 1.5), RangeError, "must be an integer");
});

Deno.test("runIndexOfDate() steps by one per UTC day", () => {
  const day = runIndexOfDate(new Date("2026-12-02T00:00:00Z"));
  assertEquals(runIndexOfDate(new Date("2026-12-02T23:59:59Z")), day);
  assertEquals(runIndexOfDate(new Date("2026-12-03T00:00:00Z")), day + 1);
});

Deno.test("rotationSample() over the real registries: one of each kind, all within N runs", async () => {
  const { retrainableRecipes } = await import("../train.ts");
  const recipes = retrainableRecipes();
  const picks0 = rotationSample(recipes, 0);
  assertEquals(picks0.map((p) => p.kind), ["moe-gate", "sparse-training"]);
  const longest = Math.max(...picks0.map((p) => p.of));
  const seen = new Set<string>();
  for (let i = 0; i < longest; i++) {
    for (const pick of rotationSample(recipes, i)) seen.add(pick.name);
  }
  assertEquals([...seen].sort(), [...new Set(recipes.map((r) => r.name))].sort());
});
