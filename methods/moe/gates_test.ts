// Every MoE gate on odd shapes: well-formed routings, the layer against its float64 reference,
// the gate's and the whole model's gradients against finite differences, and each gate's rule.
import {
  compareWithReference,
  type Gate,
  MoeLayer,
  moeLayerReference,
  type MoeMethod,
  MoeMlp,
  permuteByExpert,
  routingProblem,
  RoutingTally,
} from "../../bench/families/moe/mod.ts";
import type { Method, ParamValues } from "../../bench/metadata.ts";
import { defaultParams } from "../../bench/metadata.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { assert, assertEquals } from "../../tests/assert.ts";
import { denseFfn } from "./dense_ffn.ts";
import { expertChoice, expertChoiceK } from "./expert_choice.ts";
import { gshardTop2 } from "./gshard_top2.ts";
import { hashGate } from "./hash.ts";
import { moeMethods } from "./mod.ts";
import { switchCapacity, switchGate } from "./switch.ts";
import { topkSoftmax } from "./topk_softmax.ts";

const SHAPES = [
  { tokens: 1, dim: 5, experts: 3 },
  { tokens: 7, dim: 11, experts: 5 },
  { tokens: 37, dim: 9, experts: 8 },
  { tokens: 130, dim: 16, experts: 4 },
];

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = normal(mulberry32(seed));
  return Float32Array.from({ length: n }, () => g() * scale);
}
const ids = (n: number, seed: number) =>
  Uint32Array.from({ length: n }, (_, i) => (Math.imul(i + 1, 0x9e3779b1) ^ seed) >>> 0);

function gateOf(
  method: Method,
  dim: number,
  experts: number,
  params?: ParamValues,
  seed = 3,
): Gate {
  const impl = method.impl as MoeMethod;
  return impl.createGate({ dim, experts }, params ?? defaultParams(method.meta.parameters), {
    seed,
  });
}
/** Gives a gate's zero-initialized parameters random values, so gradients are not degenerate. */
function randomize(gate: Gate, seed: number): void {
  gate.parameters().forEach((p, i) => p.data.set(randn(p.size, seed + i, 0.7)));
}

for (const method of moeMethods) {
  const id = method.meta.id;
  Deno.test(`${id}: routings are well formed on odd shapes, in train and eval`, () => {
    for (const { tokens, dim, experts } of SHAPES) {
      const gate = gateOf(method, dim, experts);
      randomize(gate, 11);
      const x = randn(tokens * dim, tokens);
      for (const mode of ["train", "eval"] as const) {
        const r = gate.route({ x, tokens, ids: ids(tokens, 1) }, mode);
        const problem = routingProblem(r, experts);
        assertEquals(problem, null, `${tokens}×${dim}, E=${experts}, ${mode}: ${problem}`);
        if (mode === "train") gate.backward(new Float32Array(r.experts.length));
      }
      // Eval routing is deterministic.
      const a = gate.route({ x, tokens, ids: ids(tokens, 1) }, "eval");
      const b = gate.route({ x, tokens, ids: ids(tokens, 1) }, "eval");
      assertEquals([...a.experts], [...b.experts]);
      assertEquals([...a.weights], [...b.weights]);
    }
  });

  Deno.test(`${id}: the MoE layer equals its float64 reference on odd shapes`, () => {
    for (const { tokens, dim, experts } of SHAPES) {
      const gate = gateOf(method, dim, experts);
      randomize(gate, 5);
      const model = new MoeMlp({ inputs: 3, dim, experts, hidden: 7, classes: 2 }, gate);
      model.init(9);
      for (const ex of model.layer.experts) {
        ex.fc1.bias!.data.set(randn(7, 1, 0.1));
        ex.fc2.bias!.data.set(randn(dim, 2, 0.1));
      }
      const h = randn(tokens * dim, 17 + tokens);
      const { y, routing } = model.layer.forward(h, tokens, ids(tokens, 2), "eval");
      const { passed, maxAbsError } = compareWithReference(
        y,
        moeLayerReference(model.layer, h, routing),
      );
      assert(passed, `${tokens}×${dim}, E=${experts}: max |err| ${maxAbsError}`);
    }
  });

  Deno.test(`${id}: model gradients match finite differences (gate, experts, stem)`, () => {
    const tokens = 13, dim = 6, experts = 4, inputs = 5, classes = 3;
    const x = randn(tokens * inputs, 41), c = randn(tokens * classes, 42);
    const tokenIds = ids(tokens, 7);
    // Gates with noise redraw it per route: a fresh gate of the same seed gives the same draw.
    const build = () => {
      const gate = gateOf(method, dim, experts, undefined, 5);
      randomize(gate, 23);
      const layout = (method.impl as MoeMethod).layout?.(
        experts,
        4,
        defaultParams(
          method.meta.parameters,
        ),
      ) ?? { experts, hidden: 4 };
      const m = new MoeMlp({ inputs, dim, classes, ...layout }, gate);
      m.init(77);
      return m;
    };
    const ref = build();
    const lossOf = (m: MoeMlp) => {
      const { logits, auxLoss } = m.forward(x, tokens, tokenIds, "train");
      let l = auxLoss;
      for (let i = 0; i < logits.length; i++) l += c[i] * logits[i];
      return { l, logits };
    };
    ref.forward(x, tokens, tokenIds, "train");
    const fresh = build();
    fresh.parameters().forEach((p) => p.grad.fill(0));
    lossOf(fresh);
    fresh.backward(c);
    const params = fresh.parameters();
    const pick = mulberry32(3);
    let checked = 0;
    for (const [pi, p] of params.entries()) {
      for (let trial = 0; trial < 2; trial++) {
        const i = Math.floor(pick() * p.size);
        const at = (delta: number) => {
          const m = build();
          m.parameters()[pi].data[i] += delta;
          return lossOf(m).l;
        };
        const analytic = p.grad[i];
        // Two step sizes: a ReLU or top-k kink within one step breaks that one only.
        const numerics = [1e-2, 2e-3].map((eps) => (at(eps) - at(-eps)) / (2 * eps));
        assert(
          numerics.some((n) => Math.abs(n - analytic) <= 3e-3 + 2e-2 * Math.abs(n)),
          `${p.name}[${i}]: analytic ${analytic}, numeric ${numerics}`,
        );
        checked++;
      }
    }
    assert(checked > 0);
  });
}

Deno.test("switch: no expert takes more than ⌈cf·T/E⌉ tokens, the rest are dropped", () => {
  const tokens = 101, dim = 8, experts = 5;
  for (const cf of [0.5, 1, 1.25, 2]) {
    const params = { ...defaultParams(switchGate.meta.parameters), capacityFactor: cf };
    const gate = gateOf(switchGate, dim, experts, params);
    randomize(gate, 1);
    const r = gate.route({ x: randn(tokens * dim, 8), tokens, ids: ids(tokens, 0) }, "eval");
    const perm = permuteByExpert(r, experts);
    const cap = switchCapacity(tokens, experts, cf);
    for (let e = 0; e < experts; e++) assert(perm.offsets[e + 1] - perm.offsets[e] <= cap);
    const tally = new RoutingTally(experts);
    tally.add(r);
    // Kept tokens route to their argmax with its probability as weight.
    for (let t = 0; t < tokens; t++) {
      if (r.experts[t] < 0) continue;
      const row = r.probabilities!.subarray(t * experts, t * experts + experts);
      assertEquals(r.experts[t], row.indexOf(Math.max(...row)));
      assertEquals(r.weights[t], row[r.experts[t]]);
    }
    if (cf * tokens / experts < tokens / experts) assert(tally.figures().dropped_share > 0);
  }
});

Deno.test("switch: the auxiliary loss is α·E·Σ fᵢPᵢ, = α at uniform routing", () => {
  const gate = gateOf(switchGate, 4, 8);
  // Zero router: uniform probabilities, argmax expert 0 for every token: f = (1, 0, …), P = 1/8.
  gate.parameters()[0].data.fill(0);
  const r = gate.route({ x: randn(40, 1), tokens: 10, ids: ids(10, 0) }, "train");
  assert(Math.abs(r.auxLoss - 0.01 * 8 * (1 * 1 / 8)) < 1e-9, `aux ${r.auxLoss}`);
});

Deno.test("expert-choice: every expert takes exactly ⌈T·c/E⌉ tokens", () => {
  for (const { tokens, dim, experts } of SHAPES) {
    const gate = gateOf(expertChoice, dim, experts);
    randomize(gate, 2);
    const r = gate.route({ x: randn(tokens * dim, 3), tokens, ids: ids(tokens, 0) }, "eval");
    const perm = permuteByExpert(r, experts);
    for (let e = 0; e < experts; e++) {
      assertEquals(perm.offsets[e + 1] - perm.offsets[e], expertChoiceK(tokens, experts, 2));
    }
  }
});

Deno.test("topk-softmax: k distinct experts per token, weights summing to 1", () => {
  const tokens = 50, dim = 7, experts = 6;
  const gate = gateOf(topkSoftmax, dim, experts);
  randomize(gate, 4);
  const r = gate.route({ x: randn(tokens * dim, 5), tokens, ids: ids(tokens, 0) }, "eval");
  assertEquals(r.k, 2);
  for (let t = 0; t < tokens; t++) {
    assert(r.experts[2 * t] >= 0 && r.experts[2 * t + 1] >= 0);
    assert(Math.abs(r.weights[2 * t] + r.weights[2 * t + 1] - 1) < 1e-6);
    // The eval gate keeps the two largest clean logits (softmax order).
    const row = r.probabilities!.subarray(t * experts, t * experts + experts);
    const sorted = [...row].sort((a, b) => b - a);
    assertEquals(row[r.experts[2 * t]], sorted[0]);
  }
});

Deno.test("hash: no parameters, routing by id alone, roughly balanced", () => {
  const gate = gateOf(hashGate, 4, 8);
  assertEquals(gate.parameters().length, 0);
  const tokens = 8000, tokenIds = ids(tokens, 9);
  const a = gate.route({ x: randn(tokens * 4, 1), tokens, ids: tokenIds }, "eval");
  const b = gate.route({ x: randn(tokens * 4, 2), tokens, ids: tokenIds }, "eval");
  assertEquals([...a.experts], [...b.experts]);
  const tally = new RoutingTally(8);
  tally.add(a);
  // Multinomial load: CV ≈ √(7/8000) ≈ 0.03.
  assert(tally.figures().load_cv < 0.08, `cv ${tally.figures().load_cv}`);
});

Deno.test("dense-ffn: one expert `width` experts wide, every token through it", () => {
  const impl = denseFfn.impl as MoeMethod;
  assertEquals(impl.layout!(8, 32, { width: 2 }), { experts: 1, hidden: 64 });
  const layer = new MoeLayer({ dim: 3, experts: 1, hidden: 4 }, gateOf(denseFfn, 3, 1));
  const r = layer.gate.route({ x: randn(9, 1), tokens: 3, ids: ids(3, 0) }, "eval");
  assertEquals([...r.experts], [0, 0, 0]);
});

Deno.test("RoutingTally: CV, MaxVio, drops, dead experts and entropy of a known routing", () => {
  const tally = new RoutingTally(4);
  // Loads 3, 1, 0, 0 over 5 tokens (one dropped); one-hot probabilities → entropy 0.
  tally.add({
    tokens: 5,
    k: 1,
    experts: Int32Array.from([0, 0, 1, 0, -1]),
    weights: Float32Array.from([1, 1, 1, 1, 0]),
    auxLoss: 0,
    probabilities: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]),
  });
  const f = tally.figures();
  // mean 1, std √((4+0+1+1)/4) = √1.5
  assert(Math.abs(f.load_cv - Math.sqrt(1.5)) < 1e-12);
  assertEquals(f.max_vio, 3);
  assertEquals(f.dropped_share, 0.2);
  assertEquals(f.dead_experts, 2);
  assertEquals(f.router_entropy, 0);
});

Deno.test("routingProblem() names repeated experts, out-of-range ids and bad weights", () => {
  const base = { tokens: 1, k: 2, auxLoss: 0, probabilities: null };
  const ok = { ...base, experts: Int32Array.from([0, 1]), weights: Float32Array.from([0.5, 0.5]) };
  assertEquals(routingProblem(ok, 2), null);
  assert(routingProblem({ ...ok, experts: Int32Array.from([1, 1]) }, 2)!.includes("twice"));
  assert(routingProblem({ ...ok, experts: Int32Array.from([0, 2]) }, 2)!.includes("outside"));
  assert(routingProblem({ ...ok, weights: Float32Array.from([NaN, 1]) }, 2)!.includes("finite"));
  assert(
    routingProblem({ ...ok, experts: Int32Array.from([0, -1]) }, 2)!.includes("empty slot"),
  );
});

Deno.test("gshard-top2: at most ⌈cf·T/E⌉ slots per expert; first choices are placed before second ones", () => {
  const tokens = 99, dim = 6, experts = 5;
  for (const cf of [0.6, 5]) {
    const params = { capacityFactor: cf, alpha: 0.01 };
    const gate = gateOf(gshardTop2, dim, experts, params);
    randomize(gate, 8);
    const r = gate.route({ x: randn(tokens * dim, 4), tokens, ids: ids(tokens, 0) }, "eval");
    const perm = permuteByExpert(r, experts), cap = Math.ceil(cf * tokens / experts);
    for (let e = 0; e < experts; e++) assert(perm.offsets[e + 1] - perm.offsets[e] <= cap);
    let firsts = 0, seconds = 0;
    for (let t = 0; t < tokens; t++) {
      if (r.experts[2 * t] >= 0) firsts++;
      if (r.experts[2 * t + 1] >= 0) seconds++;
      const row = r.probabilities!.subarray(t * experts, t * experts + experts);
      if (r.experts[2 * t] >= 0) assertEquals(r.experts[2 * t], row.indexOf(Math.max(...row)));
    }
    // cf 5: capacity T, room for every slot; cf 0.6: first choices win the room over second ones.
    if (cf === 5) assertEquals([firsts, seconds], [tokens, tokens]);
    else assert(firsts > seconds, `${firsts} first vs ${seconds} second choices kept`);
  }
});
