// moe-layer-speed end to end: its smoke through the runner with the tests' own gates (a dense
// mixture, a top-1 gate with a capacity, a dense FFN, and a gate whose WGSL plan is not its CPU
// rule, which must fail its check), and the pinned sample of the generator.
import { assert, assertEquals } from "../../tests/assert.ts";
import { emptyRun } from "../../tests/fixtures/run_fixture.ts";
import { testGpu } from "../../tests/gpu.ts";
import {
  argmaxRow,
  defineMoeMethod,
  type Gate,
  type GpuGatePlan,
  SoftmaxRouter,
} from "../../bench/families/moe/mod.ts";
import type { GpuProvider } from "../../bench/gpu/device.ts";
import type { Method } from "../../bench/metadata.ts";
import { planRun } from "../../bench/plan.ts";
import { runCells } from "../../bench/runner.ts";
import { moeLayerSpeed } from "./moe_layer_speed_task.ts";
import { layerInputs, layerSha256, seededRouter } from "./synthetic_layer.ts";

const META = {
  family: "moe" as const,
  paper: { title: "None", year: 2024, link: "https://example.org" },
  fidelity: { level: "faithful" as const, reason: "a test fixture" },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["layer-speed"] },
};

/** A softmax-router gate of the tests: top-1 (capacity ⌈1.25·T/E⌉) or every expert. */
function fixtureGate(
  shape: { dim: number; experts: number },
  seed: number,
  rule: { all: boolean; wrongPlan?: boolean },
): Gate {
  const E = shape.experts, router = new SoftmaxRouter(shape, seed);
  const capacity = (tokens: number) => rule.all ? null : Math.ceil(1.25 * tokens / E);
  return {
    parameters: () => [router.router.weight],
    route({ x, tokens }) {
      const p = router.probabilities(x, tokens, "eval");
      if (rule.all) {
        const experts = Int32Array.from({ length: tokens * E }, (_, i) => i % E);
        return { tokens, k: E, experts, weights: p.slice(), auxLoss: 0, probabilities: p };
      }
      const fill = new Int32Array(E), cap = capacity(tokens)!;
      const experts = new Int32Array(tokens).fill(-1), weights = new Float32Array(tokens);
      for (let t = 0; t < tokens; t++) {
        const e = argmaxRow(p, t * E, E);
        if (fill[e] < cap) {
          fill[e]++;
          experts[t] = e;
          weights[t] = p[t * E + e];
        }
      }
      return { tokens, k: 1, experts, weights, auxLoss: 0, probabilities: p };
    },
    backward: () => new Float32Array(0),
    gpuPlan: (): GpuGatePlan => ({
      router: router.router.weight.data,
      select: rule.all ? "all" : "top-k",
      k: rule.all ? E : 1,
      // The wrong plan weighs its one slot 1 (a softmax over the kept logit), not p.
      weighting: rule.wrongPlan ? "kept-softmax" : "probability",
      capacity,
    }),
  };
}

const fixtures = [
  defineMoeMethod({
    ...META,
    id: "dense-mixture",
    title: "Fixture dense mixture",
    description: "every expert, softmax weights",
    fidelity: { level: "baseline", reason: "a test fixture" },
    impl: {
      trainedParams: [],
      nominalActive: (experts) => experts,
      createGate: (shape, _p, ctx) => fixtureGate(shape, ctx.seed, { all: true }),
    },
  }),
  defineMoeMethod({
    ...META,
    id: "fixture-top1",
    title: "Fixture top-1",
    description: "top-1 with a capacity",
    impl: {
      trainedParams: [],
      nominalActive: () => 1,
      createGate: (shape, _p, ctx) => fixtureGate(shape, ctx.seed, { all: false }),
    },
  }),
  defineMoeMethod({
    ...META,
    id: "fixture-wrong-plan",
    title: "Fixture top-1 whose WGSL plan weighs differently",
    description: "a plan that is not the gate's rule",
    impl: {
      trainedParams: [],
      nominalActive: () => 1,
      createGate: (shape, _p, ctx) => fixtureGate(shape, ctx.seed, { all: false, wrongPlan: true }),
    },
  }),
  defineMoeMethod({
    ...META,
    id: "fixture-dense-ffn",
    title: "Fixture dense FFN",
    description: "one expert",
    fidelity: { level: "baseline", reason: "a test fixture" },
    impl: {
      trainedParams: [],
      layout: (_experts, hidden) => ({ experts: 1, hidden }),
      nominalActive: () => 1,
      createGate: () => ({
        parameters: () => [],
        route: ({ tokens }) => ({
          tokens,
          k: 1,
          experts: new Int32Array(tokens),
          weights: new Float32Array(tokens).fill(1),
          auxLoss: 0,
          probabilities: null,
        }),
        backward: () => new Float32Array(0),
      }),
    },
  }),
] as Method[];

Deno.test("moe-layer-speed: the pinned sample regenerates to the metadata's sha256", async () => {
  const sha = await layerSha256(seededRouter(8, 64), layerInputs(1024, 64, 0));
  assertEquals(sha, moeLayerSpeed.meta.dataset.sha256);
});

Deno.test("moe-layer-speed: smoke through the runner checks each gate before its latency", async () => {
  const gpu = {
    current: () => Promise.resolve(testGpu),
    unavailableReason: testGpu ? null : "no adapter in this test",
    takeLostReason: () => null,
  } as unknown as GpuProvider;
  const groups = planRun(
    { profile: "smoke", tasks: [moeLayerSpeed], methods: fixtures, overrides: {} },
    fixtures,
  );
  const run = await runCells(emptyRun(), {
    groups,
    gpu,
    sampling: {
      warmup: 1,
      minRuns: 3,
      maxRuns: 3,
      targetRelativeHalfWidth: 0.03,
      budgetMs: 0,
      minSampleMs: 1,
    },
    timeLimitMs: 60_000,
    dumpDir: null,
    save: () => Promise.resolve(),
  });
  const byId = new Map(run.cells.map((c) => [c.method.id, c]));
  assertEquals([...byId.keys()].sort(), fixtures.map((m) => m.meta.id).sort());
  if (!testGpu) {
    for (const cell of run.cells) assertEquals(cell.status, "skipped", cell.method.id);
    return;
  }
  for (const id of ["dense-mixture", "fixture-top1", "fixture-dense-ffn"]) {
    const cell = byId.get(id)!;
    assertEquals(cell.status, "ok", `${id}: ${JSON.stringify(cell).slice(0, 400)}`);
    if (cell.status !== "ok") continue;
    assert(cell.check.passed, cell.check.description);
    assert(cell.metrics.grouped_matmul_time_share > 0, `${id}: no grouped matmul share`);
    assertEquals(cell.metrics.gate_on_gpu, id === "fixture-dense-ffn" ? 0 : 1);
  }
  const top1 = byId.get("fixture-top1")!;
  assert(top1.status === "ok" && top1.speedup !== null && top1.speedup.ci95 !== null);
  assert(top1.metrics.dropped_share > 0 || top1.metrics.max_vio < 1.25);
  const wrong = byId.get("fixture-wrong-plan")!;
  assert(wrong.status !== "ok", `the wrong plan passed: ${JSON.stringify(wrong).slice(0, 300)}`);
});
