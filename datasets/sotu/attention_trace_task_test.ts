import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import type { TaskContext } from "../../bench/plugin.ts";
import { defineAttentionMethod, denseKeys } from "../../bench/families/attention/mod.ts";
import { readCheckpoint } from "../mnist/reference_mlp.ts";
import { SOTU_LM_MODELS } from "./reference_lm.ts";
import { SOTU_LM_SHA256, sotuAttentionTrace } from "./attention_trace_task.ts";

const ctx: TaskContext = {
  gpu: null,
  seed: 1,
  taskSeed: 1,
  profile: "smoke",
  dump: false,
  minSampleMs: 1,
};

/** Test fixtures: dense attention's selection, and a sink-plus-window one that must lose mass. */
function fixture(id: string, keys: (row: number) => Int32Array | null) {
  return defineAttentionMethod({
    id,
    family: "attention",
    title: id,
    description: "a test fixture",
    paper: { title: "None", year: 2024, link: "https://example.org" },
    fidelity: { level: "baseline", reason: "a test fixture" },
    version: "1.0.0",
    parameters: {},
    capabilities: { requires: ["webgpu"], features: ["causal"] },
    impl: {
      setup: () => Promise.reject(new Error("CPU only")),
      selectKeys: ({ shape }, _head, row) => keys(row) ?? denseKeys(shape, row),
      nominalDensity: () => 1,
    },
  });
}

Deno.test("attention-sotu-trace names the committed checkpoint's sha256", async () => {
  const { card } = await readCheckpoint(SOTU_LM_MODELS, "sotu-lm");
  assertEquals(card.checkpointSha256, SOTU_LM_SHA256);
});

Deno.test("attention-sotu-trace scores real heads against dense; sparse selections lose mass", async () => {
  const prepared = await sotuAttentionTrace.impl.prepare({ windows: 2 }, ctx);
  try {
    const dense = await prepared.referenceMetrics(fixture("every-key", () => null), {});
    assert(dense.rel_l2_error < 1e-6, `dense error ${dense.rel_l2_error}`);
    assertAlmostEquals(dense.mass_recall, 1, 1e-9);
    // The first 4 keys and the 16 last: a sink-and-window selection.
    const sinkWindow = fixture("sink-window", (row) => {
      const keys = new Set<number>();
      for (let j = 0; j <= Math.min(3, row); j++) keys.add(j);
      for (let j = Math.max(0, row - 15); j <= row; j++) keys.add(j);
      return Int32Array.from([...keys].sort((a, b) => a - b));
    });
    const sparse = await prepared.referenceMetrics(sinkWindow, {});
    assert(sparse.mass_recall < 1 && sparse.mass_recall > 0.2, `recall ${sparse.mass_recall}`);
    assert(sparse.rel_l2_error > 1e-3, `error ${sparse.rel_l2_error}`);
  } finally {
    prepared.dispose();
  }
});
