// The gates' WGSL routing (their `gpuPlan`, run by the WebGPU MoE layer) against their own CPU
// `route` in evaluation and the plan's plain reference, on odd shapes, exact ties and the sizes
// moe-layer-speed's full profile reaches (64k tokens, E up to 64, k 1–2): the same experts slot
// for slot (float64 near-ties aside, and none at all where inputs are quantized so every logit
// is exact), the same weights, and each capacity dropping the same slots. A mutated plan (capacity
// order, renormalization) must disagree with the CPU route, so these comparisons can fail.
import {
  checkGpuRoute,
  compareExpertChoiceRouting,
  compareSelectorRouting,
  createGpuMoeLayer,
  expertChoiceReference,
  type GpuExpertChoicePlan,
  type GpuRoutePlan,
  MoeLayer,
  type MoeMethod,
  type Routing,
} from "../../bench/families/moe/mod.ts";
import { defaultParams, type Method, type ParamValues } from "../../bench/metadata.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { testGpu } from "../../tests/gpu.ts";
import { assert, assertEquals } from "../../tests/assert.ts";
import { baseLayer } from "./base.ts";
import { comet } from "./comet.ts";
import { denseFfn } from "./dense_ffn.ts";
import { denseMixture } from "./dense_mixture.ts";
import { dselectK } from "./dselect_k.ts";
import { expertChoice } from "./expert_choice.ts";
import { gshardTop2 } from "./gshard_top2.ts";
import { hashGate } from "./hash.ts";
import { moeLlava } from "./moe_llava.ts";
import { switchGate } from "./switch.ts";
import { topkSoftmax } from "./topk_softmax.ts";

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = normal(mulberry32(seed));
  return Float32Array.from({ length: n }, () => g() * scale);
}

/** Values on a grid of 1/4 in [−1, 1]: dot products of a few dozen are exact in float32. */
function quantized(n: number, seed: number): Float32Array {
  const u = mulberry32(seed);
  return Float32Array.from({ length: n }, () => Math.floor(u() * 9) / 4 - 1);
}

interface Case {
  method: Method;
  params: ParamValues;
  tokens: number;
  dim: number;
  experts: number;
  /** Quantized router and inputs: logits exact, many exact ties, so no near-tie is forgiven. */
  exact?: boolean;
  /** Inputs drawn from this many distinct rows (exact ties across tokens: expert choice). */
  distinctRows?: number;
  /** The routing must drop some slots (a capacity that binds). */
  drops?: boolean;
}

const params = (method: Method, set: ParamValues = {}) => ({
  ...defaultParams(method.meta.parameters),
  ...set,
});

const CASES: Case[] = [
  // Capacity ⌈1.0·T/E⌉ over 70,001 tokens (one slot each): some experts overflow and drop.
  {
    method: switchGate,
    params: params(switchGate, { capacityFactor: 1 }),
    tokens: 70_001,
    dim: 13,
    experts: 7,
    drops: true,
  },
  { method: switchGate, params: params(switchGate), tokens: 301, dim: 64, experts: 8 },
  // 33,001 tokens × k = 2: 66,002 slots.
  { method: topkSoftmax, params: params(topkSoftmax), tokens: 33_001, dim: 21, experts: 9 },
  { method: topkSoftmax, params: params(topkSoftmax, { k: 1 }), tokens: 300, dim: 7, experts: 3 },
  { method: denseMixture, params: params(denseMixture), tokens: 517, dim: 11, experts: 5 },
  // GShard: top-2 over 65,537 tokens (131,074 slots), capacity 2T/E filled by first choices
  // first; exact logits with ties, so the second choice's tie rule and every drop are checked.
  {
    method: gshardTop2,
    params: params(gshardTop2),
    tokens: 65_537,
    dim: 13,
    experts: 7,
    exact: true,
    drops: true,
  },
  { method: gshardTop2, params: params(gshardTop2), tokens: 4_097, dim: 64, experts: 64 },
  // MoE-LLaVA top-2 with a binding capacity ⌈2·0.5·T/E⌉: renormalization after the cut matters.
  {
    method: moeLlava,
    params: params(moeLlava, { capacityFactor: 0.5 }),
    tokens: 65_536,
    dim: 11,
    experts: 16,
    exact: true,
    drops: true,
  },
  {
    method: moeLlava,
    params: params(moeLlava, { k: 1, capacityFactor: 0.7 }),
    tokens: 1_001,
    dim: 9,
    experts: 8,
    drops: true,
  },
  { method: hashGate, params: params(hashGate), tokens: 65_537, dim: 5, experts: 61 },
  { method: hashGate, params: params(hashGate), tokens: 3, dim: 4, experts: 8 },
  // Expert choice at 65,536 tokens (no invocation may scan an expert's column whole) and E = 64,
  // and with 40 distinct token rows: every threshold an exact tie, taken by the earliest tokens.
  { method: expertChoice, params: params(expertChoice), tokens: 65_536, dim: 5, experts: 8 },
  { method: expertChoice, params: params(expertChoice), tokens: 4_099, dim: 7, experts: 64 },
  {
    method: expertChoice,
    params: params(expertChoice, { c: 1.3 }),
    tokens: 1_001,
    dim: 6,
    experts: 8,
    distinctRows: 40,
  },
  { method: expertChoice, params: params(expertChoice), tokens: 7, dim: 3, experts: 3 },
  {
    method: baseLayer,
    params: params(baseLayer),
    tokens: 20_001,
    dim: 10,
    experts: 8,
    exact: true,
  },
  // Smooth-step selectors: codes at 65,536 tokens, a non-power-of-two E with 3 selectors, trees
  // through a learned (random) permutation at E = 8 and 64, one tree (no mixing softmax).
  { method: dselectK, params: params(dselectK), tokens: 65_536, dim: 9, experts: 8 },
  { method: dselectK, params: params(dselectK, { k: 3 }), tokens: 1_001, dim: 6, experts: 5 },
  { method: comet, params: params(comet), tokens: 20_001, dim: 7, experts: 8 },
  { method: comet, params: params(comet), tokens: 4_099, dim: 8, experts: 64 },
  {
    method: comet,
    params: params(comet, { k: 1, searchShare: 0 }),
    tokens: 301,
    dim: 5,
    experts: 6,
  },
];

/** The gate of a case with its weights set: random, or quantized for `exact`. */
function gateOf(c: Case, n: number) {
  const gate = (c.method.impl as MoeMethod).createGate(
    { dim: c.dim, experts: c.experts },
    c.params,
    { seed: 40 + n },
  );
  // Random router weights (noisy top-k starts from zeros, where every logit ties).
  for (const [i, p] of gate.parameters().entries()) {
    p.data.set(
      c.exact ? quantized(p.size, 7 * n + i) : randn(p.size, 7 * n + i, 1 / Math.sqrt(c.dim)),
    );
  }
  return gate;
}

function inputsOf(c: Case, n: number): { x: Float32Array; ids: Uint32Array } {
  let x = c.exact ? quantized(c.tokens * c.dim, 900 + n) : randn(c.tokens * c.dim, 900 + n);
  if (c.distinctRows) {
    const rows = randn(c.distinctRows * c.dim, 900 + n), u = mulberry32(n);
    x = new Float32Array(c.tokens * c.dim);
    for (let t = 0; t < c.tokens; t++) {
      const r = Math.floor(u() * c.distinctRows);
      x.set(rows.subarray(r * c.dim, (r + 1) * c.dim), t * c.dim);
    }
  }
  // Ids across the whole u32 range (hash routing mixes every bit).
  const ids = Uint32Array.from({ length: c.tokens }, (_, i) => Math.imul(i + 1, 0x9e3779b1) >>> 0);
  return { x, ids };
}

/** Runs the layer's passes once with `plan` as its gate and reads back what it routed. */
async function routeOnGpu(
  c: Case,
  layer: MoeLayer,
  input: { x: Float32Array; ids: Uint32Array },
  plan: GpuRoutePlan,
) {
  const gpu = await createGpuMoeLayer(testGpu!, layer, {
    h: input.x,
    ids: input.ids,
    tokens: c.tokens,
    k: plan.k,
    gate: plan,
  });
  try {
    const encoder = testGpu!.device.createCommandEncoder();
    gpu.encode(encoder);
    testGpu!.device.queue.submit([encoder.finish()]);
    return await gpu.readRouting();
  } finally {
    gpu.dispose();
  }
}

/** The first slot where two routings differ in expert or (beyond 1e-5) weight, or −1. */
function firstDifference(a: Routing, b: Routing): number {
  if (a.experts.length !== b.experts.length) return 0;
  return a.experts.findIndex((e, s) =>
    e !== b.experts[s] || !(Math.abs(a.weights[s] - b.weights[s]) <= 1e-5)
  );
}

Deno.test("gates without a WGSL plan keep their routing on the CPU", () => {
  for (const method of [denseFfn]) {
    const gate = (method.impl as MoeMethod).createGate(
      { dim: 4, experts: 4 },
      defaultParams(method.meta.parameters),
      { seed: 1 },
    );
    assertEquals(gate.gpuPlan, undefined, method.meta.id);
  }
});

Deno.test({
  name: "every gate with a WGSL plan routes on the GPU as its CPU route() does",
  ignore: !testGpu,
  async fn() {
    for (const [n, c] of CASES.entries()) {
      const label = `${c.method.meta.id} ${JSON.stringify(c.params)} T=${c.tokens} E=${c.experts}`;
      const gate = gateOf(c, n), input = inputsOf(c, n);
      const cpu = gate.route({ ...input, tokens: c.tokens }, "eval");
      const plan = gate.gpuPlan!();
      assertEquals(plan.k, cpu.k, label);
      const layer = new MoeLayer({ dim: c.dim, hidden: 2, experts: c.experts }, gate);
      const read = await routeOnGpu(c, layer, input, plan);
      const agreement = checkGpuRoute(plan, read, { ...input, tokens: c.tokens, dim: c.dim });
      assertEquals(agreement.problem, null, label);
      const exact = c.exact || c.distinctRows !== undefined;
      if (exact) assertEquals(agreement.nearTies, 0, `${label}: exact inputs, yet near-ties`);
      // Near-ties may flip a choice (and, under a capacity, later drops): exact elsewhere.
      if (agreement.nearTies === 0) {
        assertEquals(firstDifference(read.routing, cpu), -1, label);
      } else if (plan.kind === "expert-choice") {
        // The CPU's choice, with the float64 thresholds, as the reference: counts exact, any
        // difference a near-tie.
        const ref = expertChoiceReference(plan, { ...input, tokens: c.tokens, dim: c.dim });
        const againstCpu = compareExpertChoiceRouting(read.routing, { ...ref, routing: cpu });
        assertEquals(againstCpu.problem, null, label);
      } else if (plan.kind === "smooth-step-selectors") {
        // Slots of weight < 1e-5 on one side only: decisions within float32 rounding of ±γ/2,
        // of which a token has selectors × nodes (126 at E = 64, k = 2).
        const decisions = plan.decisions.length / c.dim;
        assert(
          agreement.nearTies <= 1e-4 * c.tokens * decisions,
          `${label}: ${agreement.nearTies} near-ties`,
        );
        // The CPU route as the reference: every weight within 1e-5 of the GPU's.
        assertEquals(compareSelectorRouting(read.routing, cpu).problem, null, label);
      } else {
        assert(agreement.nearTies <= c.tokens * 1e-3, `${label}: ${agreement.nearTies} near-ties`);
      }
      const dropped = cpu.experts.filter((e) => e < 0).length;
      if (c.drops) assert(dropped > 0, `${label}: the capacity dropped no slot`);
    }
  },
});

Deno.test({
  name: "a mutated capacity order or renormalization disagrees with the CPU route",
  ignore: !testGpu,
  async fn() {
    for (const n of [5, 7]) {
      const c = { ...CASES[n], tokens: 4_001 };
      const gate = gateOf(c, n), input = inputsOf(c, n);
      const cpu = gate.route({ ...input, tokens: c.tokens }, "eval");
      const plan = gate.gpuPlan!();
      assert(plan.kind === undefined);
      const layer = new MoeLayer({ dim: c.dim, hidden: 2, experts: c.experts }, gate);
      const right = await routeOnGpu(c, layer, input, plan);
      assertEquals(firstDifference(right.routing, cpu), -1, c.method.meta.id);
      for (
        const mutated of [
          { ...plan, capacityOrder: "slot" as const },
          { ...plan, renormalizeKept: !plan.renormalizeKept },
        ]
      ) {
        const wrong = await routeOnGpu(c, layer, input, mutated);
        // GShard does not renormalize after the cut: turning it on must change its weights too.
        assert(
          firstDifference(wrong.routing, cpu) >= 0,
          `${c.method.meta.id}: ${JSON.stringify(mutated)} routes as the CPU does`,
        );
      }
    }
  },
});

Deno.test({
  name: "COMET's plan without its permutation disagrees with the CPU route",
  ignore: !testGpu,
  async fn() {
    const n = CASES.findIndex((x) => x.method === comet && x.experts === 8), c = CASES[n];
    const gate = gateOf(c, n), input = inputsOf(c, n);
    const cpu = gate.route({ ...input, tokens: c.tokens }, "eval");
    const plan = gate.gpuPlan!();
    assert(plan.kind === "smooth-step-selectors" && plan.leafTarget !== undefined);
    assert(plan.leafTarget.some((e, i) => e !== i), "the fixture's permutation is the identity");
    const layer = new MoeLayer({ dim: c.dim, hidden: 2, experts: c.experts }, gate);
    const wrong = await routeOnGpu(c, layer, input, { ...plan, leafTarget: undefined });
    assert(compareSelectorRouting(wrong.routing, cpu).problem !== null);
  },
});

Deno.test({
  name:
    "expert choice on the GPU takes tied tokens in token order, and a later tie fails both checks",
  ignore: !testGpu,
  async fn() {
    const c = CASES.find((x) => x.distinctRows !== undefined)!, n = CASES.indexOf(c);
    const gate = gateOf(c, n), input = inputsOf(c, n);
    const cpu = gate.route({ ...input, tokens: c.tokens }, "eval");
    const plan = gate.gpuPlan!() as GpuExpertChoicePlan;
    const layer = new MoeLayer({ dim: c.dim, hidden: 2, experts: c.experts }, gate);
    const read = await routeOnGpu(c, layer, input, plan);
    assertEquals(firstDifference(read.routing, cpu), -1);
    // Move an expert's last taken token to a later untaken one with the same inputs (a tie): the
    // check against the CPU route must see it.
    const E = c.experts, rows = (t: number) => input.x.subarray(t * c.dim, (t + 1) * c.dim);
    const same = (a: number, b: number) => rows(a).every((v, j) => v === rows(b)[j]);
    let found: { e: number; last: number; later: number } | null = null;
    for (let e = 0; e < E && !found; e++) {
      // The last token the expert takes in its order: the lowest score, the latest among equals.
      let last = -1;
      for (let t = 0; t < c.tokens; t++) {
        if (
          cpu.experts[t * E + e] === e &&
          (last < 0 || cpu.weights[t * E + e] <= cpu.weights[last * E + e])
        ) last = t;
      }
      for (let t = last + 1; t < c.tokens && !found; t++) {
        if (cpu.experts[t * E + e] < 0 && same(t, last)) found = { e, last, later: t };
      }
    }
    assert(found !== null, "the fixture has no tie at any expert's threshold");
    const { e, last, later } = found;
    const swapped = {
      ...read.routing,
      experts: read.routing.experts.slice(),
      weights: read.routing.weights.slice(),
    };
    swapped.experts[later * E + e] = e;
    swapped.weights[later * E + e] = swapped.weights[last * E + e];
    swapped.experts[last * E + e] = -1;
    swapped.weights[last * E + e] = 0;
    assert(firstDifference(swapped, cpu) >= 0);
    const check = checkGpuRoute(plan, { chosen: swapped.experts, routing: swapped }, {
      ...input,
      tokens: c.tokens,
      dim: c.dim,
    });
    assert(/out of token order/.test(check.problem ?? ""), String(check.problem));
  },
});
