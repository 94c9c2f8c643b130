// MoE-LLaVA's gate rules: DeepSpeed's capacity ⌈cf·k·T/E⌉ with first choices placed first, the
// kept slots renormalized, the Gumbel-max second expert in training, the deterministic second
// choice at evaluation, the balance loss, and the staged recipe it declares.
import type { MoeMethod } from "../../bench/families/moe/mod.ts";
import { defaultParams } from "../../bench/metadata.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { moeLlava, moeLlavaCapacity, moeLlavaStages } from "./moe_llava.ts";

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = normal(mulberry32(seed));
  return Float32Array.from({ length: n }, () => g() * scale);
}
const gateOf = (dim: number, experts: number, set: Record<string, number> = {}) =>
  (moeLlava.impl as MoeMethod).createGate(
    { dim, experts },
    { ...defaultParams(moeLlava.meta.parameters), ...set },
    { seed: 7 },
  );

Deno.test("moe-llava: each expert takes at most ⌈cf·k·T/E⌉ slots, first choices before second ones", () => {
  const tokens = 101, dim = 6, experts = 5;
  for (const cf of [0.4, 1, 3]) {
    const gate = gateOf(dim, experts, { capacityFactor: cf });
    gate.parameters()[0].data.set(randn(experts * dim, 3, 1.5));
    const r = gate.route(
      { x: randn(tokens * dim, 4), tokens, ids: new Uint32Array(tokens) },
      "eval",
    );
    const cap = moeLlavaCapacity(tokens, experts, 2, cf), load = new Int32Array(experts);
    let firsts = 0, seconds = 0;
    for (let t = 0; t < tokens; t++) {
      const row = [...r.probabilities!.subarray(t * experts, (t + 1) * experts)];
      const ranked = row.map((p, e) => [p, e]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      const [a, b] = r.experts.subarray(2 * t, 2 * t + 2);
      // Eval: the first slot is the top expert, the second the next highest (or dropped).
      if (a >= 0) assertEquals(a, ranked[0][1]);
      if (b >= 0) assertEquals(b, ranked[1][1]);
      for (const e of [a, b]) if (e >= 0) load[e]++;
      if (a >= 0) firsts++;
      if (b >= 0) seconds++;
      // The kept slots' weights are their probabilities renormalized to sum to 1.
      const w = r.weights.subarray(2 * t, 2 * t + 2);
      if (a >= 0 || b >= 0) assertAlmostEquals(w[0] + w[1], 1, 1e-6);
      if (a >= 0 && b >= 0) {
        assertAlmostEquals(w[0] / w[1], row[a] / row[b], 1e-5 * row[a] / row[b]);
      }
    }
    for (let e = 0; e < experts; e++) assert(load[e] <= cap, `cf ${cf}: expert ${e} ${load[e]}`);
    if (cf === 3) assertEquals([firsts, seconds], [tokens, tokens]);
    else assert(firsts > seconds, `cf ${cf}: ${firsts} first vs ${seconds} second choices kept`);
  }
  assertEquals(moeLlavaCapacity(128, 8, 2, 1), 32);
});

Deno.test("moe-llava: in training the second expert is a Gumbel-max sample ∝ the others' probabilities", () => {
  // One input repeated: every token has the same probabilities, so the second-expert counts
  // estimate p_e / (1 − p_top).
  const tokens = 4000, dim = 3, experts = 4;
  const gate = gateOf(dim, experts, { trainCapacityFactor: 64 });
  gate.parameters()[0].data.set([2, 0, 0, 1, 0, 0, 0.5, 0, 0, 0, 0, 0]);
  const x = new Float32Array(tokens * dim);
  for (let t = 0; t < tokens; t++) x[t * dim] = 1;
  const r = gate.route({ x, tokens, ids: new Uint32Array(tokens) }, "train");
  const p = [...r.probabilities!.subarray(0, experts)];
  const counts = new Array(experts).fill(0);
  for (let t = 0; t < tokens; t++) {
    assertEquals(r.experts[2 * t], 0);
    counts[r.experts[2 * t + 1]]++;
  }
  assertEquals(counts[0], 0);
  for (let e = 1; e < experts; e++) {
    const expected = p[e] / (1 - p[0]);
    assert(
      Math.abs(counts[e] / tokens - expected) < 0.03,
      `expert ${e}: ${counts[e] / tokens} vs ${expected}`,
    );
  }
  gate.backward(new Float32Array(tokens * 2));
});

Deno.test("moe-llava: the auxiliary loss is α·E·Σ fᵢPᵢ over first choices, = α at uniform routing", () => {
  const tokens = 64, dim = 4, experts = 8;
  const uniform = gateOf(dim, experts);
  uniform.parameters()[0].data.fill(0);
  const x = randn(tokens * dim, 9);
  // Uniform probabilities: the first choice is expert 0 for every token (ties to the lower
  // index), f = (1, 0, …), P = 1/E: α·E·(1/E) = α.
  assertAlmostEquals(
    uniform.route({ x, tokens, ids: new Uint32Array(tokens) }, "train").auxLoss,
    0.01,
    1e-9,
  );
  const gate = gateOf(dim, experts, { alpha: 0.5 });
  const r = gate.route({ x, tokens, ids: new Uint32Array(tokens) }, "train");
  const f = new Array(experts).fill(0), P = new Array(experts).fill(0);
  for (let t = 0; t < tokens; t++) {
    const row = r.probabilities!.subarray(t * experts, (t + 1) * experts);
    f[row.indexOf(Math.max(...row))] += 1 / tokens;
    for (let e = 0; e < experts; e++) P[e] += row[e] / tokens;
  }
  const expected = 0.5 * experts * f.reduce((s, fi, e) => s + fi * P[e], 0);
  assertAlmostEquals(r.auxLoss, expected, 1e-6);
});

Deno.test("moe-llava: top-1 weighs by the probability; the stages follow denseShare", () => {
  const tokens = 9, dim = 5, experts = 3;
  const gate = gateOf(dim, experts, { k: 1, capacityFactor: 64 });
  const r = gate.route({ x: randn(tokens * dim, 2), tokens, ids: new Uint32Array(tokens) }, "eval");
  for (let t = 0; t < tokens; t++) {
    const row = r.probabilities!.subarray(t * experts, (t + 1) * experts);
    assertEquals(r.weights[t], Math.max(...row));
  }
  assertEquals(moeLlavaStages(defaultParams(moeLlava.meta.parameters)), {
    denseShare: 0.5,
    moeStageTrains: "moe-layer",
  });
  assertEquals(moeLlavaStages({ ...defaultParams(moeLlava.meta.parameters), denseShare: 0 }), null);
});

Deno.test("moe-llava: training routing is a function of the seed (the Gumbel draws included)", () => {
  const tokens = 50, dim = 7, experts = 6;
  const routes = [7, 7, 8].map((seed) => {
    const gate = (moeLlava.impl as MoeMethod).createGate(
      { dim, experts },
      defaultParams(moeLlava.meta.parameters),
      { seed },
    );
    return [1, 2, 3].flatMap((batch) => {
      const r = gate.route(
        { x: randn(tokens * dim, batch), tokens, ids: new Uint32Array(tokens) },
        "train",
      );
      gate.backward(new Float32Array(tokens * 2));
      return [...r.experts];
    });
  });
  assertEquals(routes[0], routes[1]);
  assert(routes[0].some((e, i) => e !== routes[2][i]), "another seed routes the same way");
});
