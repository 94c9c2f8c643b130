// The rules of the gates built on smooth-step selectors (DSelect-k, COMET), COMET's permutation
// search, and BASE's balanced training assignment against its greedy evaluation.
import {
  type Gate,
  type MoeMethod,
  permuteByExpert,
  smoothStep,
  smoothStepGrad,
} from "../../bench/families/moe/mod.ts";
import type { Method, ParamValues } from "../../bench/metadata.ts";
import { defaultParams } from "../../bench/metadata.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { assert, assertEquals } from "../../tests/assert.ts";
import { baseLayer } from "./base.ts";
import { comet } from "./comet.ts";
import { sinkhorn, sinkhornBackward } from "./comet_permutation.ts";
import { dselectK } from "./dselect_k.ts";

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = normal(mulberry32(seed));
  return Float32Array.from({ length: n }, () => g() * scale);
}
function gateOf(method: Method, dim: number, experts: number, params: ParamValues = {}): Gate {
  return (method.impl as MoeMethod).createGate(
    { dim, experts },
    { ...defaultParams(method.meta.parameters), ...params },
    { seed: 3 },
  );
}
const noIds = (n: number) => new Uint32Array(n);

Deno.test("smoothStep(): 0 and 1 outside ±γ/2, ½ at 0, C¹ at the joins, its derivative by differences", () => {
  for (const gamma of [0.5, 1, 3]) {
    assertEquals(smoothStep(-gamma / 2, gamma), 0);
    assertEquals(smoothStep(gamma / 2, gamma), 1);
    assertEquals(smoothStep(0, gamma), 0.5);
    assert(Math.abs(smoothStepGrad(gamma / 2 - 1e-9, gamma)) < 1e-6);
    for (const t of [-0.3, -0.1, 0.05, 0.2].map((v) => v * gamma)) {
      const numeric = (smoothStep(t + 1e-6, gamma) - smoothStep(t - 1e-6, gamma)) / 2e-6;
      assert(Math.abs(numeric - smoothStepGrad(t, gamma)) < 1e-5);
    }
  }
});

Deno.test("dselect-k: saturated bits select the expert of their binary code, one per selector", () => {
  const dim = 3, experts = 8;
  const gate = gateOf(dselectK, dim, experts, { k: 2 });
  const [decisions, mix] = gate.parameters();
  // Selector 0's bits read x₀, x₁, x₂; selector 1's the negations. Large weights saturate S.
  decisions.data.fill(0);
  for (let b = 0; b < 3; b++) {
    decisions.data[b * dim + b] = 100;
    decisions.data[(3 + b) * dim + b] = -100;
  }
  mix.data.fill(0);
  const x = Float32Array.from([1, -1, 1]);
  const r = gate.route({ x, tokens: 1, ids: noIds(1) }, "eval");
  // Bits (1, 0, 1), most significant first → code 5; negated → code 2; mixed ½ each.
  const chosen = [...r.experts].filter((e) => e >= 0);
  assertEquals(chosen, [2, 5]);
  assertEquals(r.weights[2], 0.5);
  assertEquals(r.weights[5], 0.5);
});

Deno.test("dselect-k and comet: weights sum to 1 per token; only non-zero experts are routed", () => {
  for (const method of [dselectK, comet]) {
    for (const experts of [2, 5, 8, 16]) {
      const gate = gateOf(method, 6, experts);
      gate.parameters().forEach((p, i) => {
        if (!p.name.includes("permutation")) p.data.set(randn(p.size, i, 0.5));
      });
      const tokens = 40, x = randn(tokens * 6, 9);
      const r = gate.route({ x, tokens, ids: noIds(tokens) }, "eval");
      for (let t = 0; t < tokens; t++) {
        let sum = 0;
        for (let s = 0; s < r.k; s++) {
          sum += r.weights[t * r.k + s];
          if (r.experts[t * r.k + s] >= 0) assert(r.weights[t * r.k + s] > 0);
        }
        assert(Math.abs(sum - 1) < 1e-5, `${method.meta.id} E=${experts}: sum ${sum}`);
      }
    }
  }
});

Deno.test("comet: one tree of depth 3 with saturated nodes follows its path to one leaf", () => {
  const dim = 2, experts = 8;
  const gate = gateOf(comet, dim, experts, { k: 1, searchShare: 0 });
  const [nodes] = gate.parameters();
  // Heap order: root 0, depth-1 nodes 1–2, depth-2 nodes 3–6. Root reads x₀ (right), node 2
  // reads −x₁ (left), node 6 reads x₀ (right): path bits 1, 0, 1 → leaf 5.
  nodes.data.fill(0);
  nodes.data[0 * dim + 0] = 100;
  nodes.data[2 * dim + 1] = 100;
  nodes.data[5 * dim + 0] = 100;
  const r = gate.route({ x: Float32Array.from([1, -1]), tokens: 1, ids: noIds(1) }, "eval");
  assertEquals([...r.experts].filter((e) => e >= 0), [5]);
  assertEquals(r.weights[5], 1);
});

Deno.test("comet: the search ends in a fixed permutation read from its logits, applied to the trees' output", () => {
  const dim = 4, experts = 8, tokens = 30;
  const searching = gateOf(comet, dim, experts);
  const plain = gateOf(comet, dim, experts, { searchShare: 0 });
  const [nodes, mix, perm] = searching.parameters();
  const [plainNodes, plainMix] = plain.parameters();
  plainNodes.data.set(nodes.data);
  plainMix.data.set(mix.data);
  // Logits favouring the cyclic shift σ(i) = i + 3 mod 8.
  perm.data.set(randn(perm.size, 5, 0.1));
  for (let i = 0; i < experts; i++) perm.data[i * experts + (i + 3) % experts] += 2;
  searching.progress!(0.1);
  searching.progress!(0.3);
  for (let i = 0; i < experts; i++) {
    for (let l = 0; l < experts; l++) {
      assertEquals(perm.data[i * experts + l], l === (i + 3) % experts ? 10 : 0);
    }
  }
  const x = randn(tokens * dim, 2);
  const a = searching.route({ x, tokens, ids: noIds(tokens) }, "train");
  const b = plain.route({ x, tokens, ids: noIds(tokens) }, "eval");
  for (let t = 0; t < tokens; t++) {
    for (let i = 0; i < experts; i++) {
      assertEquals(a.weights[t * experts + i], b.weights[t * experts + (i + 3) % experts]);
    }
  }
});

Deno.test("sinkhorn(): doubly stochastic on odd sizes; its backward matches finite differences", () => {
  for (const n of [1, 3, 8]) {
    const logits = Float64Array.from(randn(n * n, n, 1.5));
    const { matrix } = sinkhorn(logits, n);
    for (let a = 0; a < n; a++) {
      let row = 0, col = 0;
      for (let b = 0; b < n; b++) {
        row += matrix[a * n + b];
        col += matrix[b * n + a];
      }
      assert(Math.abs(row - 1) < 1e-3 && Math.abs(col - 1) < 1e-9, `n=${n}: ${row}, ${col}`);
    }
    const weights = Float64Array.from(randn(n * n, 40 + n));
    const loss = (l: Float64Array) =>
      sinkhorn(l, n).matrix.reduce((s, v, i) => s + v * weights[i], 0);
    const grad = sinkhornBackward(sinkhorn(logits, n), weights);
    for (let i = 0; i < n * n; i++) {
      const up = logits.slice(), down = logits.slice();
      up[i] += 1e-6;
      down[i] -= 1e-6;
      const numeric = (loss(up) - loss(down)) / 2e-6;
      assert(
        Math.abs(numeric - grad[i]) < 1e-6 + 1e-4 * Math.abs(numeric),
        `${numeric} vs ${grad[i]}`,
      );
    }
  }
});

Deno.test("base: training batches are balanced to ⌈T/E⌉ per expert; evaluation is the greedy argmax", () => {
  const dim = 5, experts = 6, tokens = 50;
  const gate = gateOf(baseLayer, dim, experts);
  const [w] = gate.parameters();
  // A skewed router: most tokens score highest on expert 0.
  w.data.set(randn(w.size, 3, 0.3));
  for (let j = 0; j < dim; j++) w.data[j] += 1;
  const x = Float32Array.from(randn(tokens * dim, 4), (v) => v + 1);
  const train = gate.route({ x, tokens, ids: noIds(tokens) }, "train");
  gate.backward(new Float32Array(tokens));
  const perm = permuteByExpert(train, experts), cap = Math.ceil(tokens / experts);
  for (let e = 0; e < experts; e++) assert(perm.offsets[e + 1] - perm.offsets[e] <= cap);
  const evalRouting = gate.route({ x, tokens, ids: noIds(tokens) }, "eval");
  let skewed = 0;
  for (let t = 0; t < tokens; t++) {
    const row = evalRouting.probabilities!.subarray(t * experts, (t + 1) * experts);
    assertEquals(evalRouting.experts[t], row.indexOf(Math.max(...row)));
    if (evalRouting.experts[t] === 0) skewed++;
    // The weight is σ(score): the softmax's order is the scores' order.
    assert(evalRouting.weights[t] > 0 && evalRouting.weights[t] < 1);
  }
  assert(skewed > cap, `the greedy rule is unbalanced here: ${skewed} tokens on expert 0`);
});
