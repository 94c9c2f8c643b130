// Gate-level gradients of the gates with a smooth regime (DSelect-k, COMET in and after its
// search, BASE) against central finite differences, on every parameter entry, at weights small
// enough that the smooth-step decisions are unsaturated (where gates_test's random weights
// mostly saturate them, and a saturated decision has no gradient to check).
import type { Gate, MoeMethod } from "../../bench/families/moe/mod.ts";
import type { Method } from "../../bench/metadata.ts";
import { defaultParams } from "../../bench/metadata.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { assert } from "../../tests/assert.ts";
import { baseLayer } from "./base.ts";
import { comet } from "./comet.ts";
import { dselectK } from "./dselect_k.ts";

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = normal(mulberry32(seed));
  return Float32Array.from({ length: n }, () => g() * scale);
}

/** Σ c·weights + aux of a fresh gate's train route (same seed: same noise draw). */
function checkGate(method: Method, label: string, opts: { hardened?: boolean } = {}) {
  const tokens = 11, dim = 5, experts = 8;
  const x = randn(tokens * dim, 1), ids = new Uint32Array(tokens);
  const c = randn(tokens * experts, 2);
  const build = (): Gate => {
    const gate = (method.impl as MoeMethod).createGate(
      { dim, experts },
      defaultParams(method.meta.parameters),
      { seed: 4 },
    );
    if (opts.hardened) gate.progress?.(1);
    gate.parameters().forEach((p, i) => {
      // Small decision weights keep |w·x| inside the smooth-step's ±γ/2; permutation logits vary.
      const scale = p.name.includes("permutation") ? 1 : 0.15;
      p.data.set(randn(p.size, 10 + i, scale));
    });
    return gate;
  };
  const lossOf = (gate: Gate) => {
    const r = gate.route({ x, tokens, ids }, "train");
    let l = r.auxLoss;
    for (let t = 0; t < tokens; t++) {
      for (let s = 0; s < r.k; s++) {
        const e = r.experts[t * r.k + s];
        if (e >= 0) l += c[t * experts + e] * r.weights[t * r.k + s];
      }
    }
    return { l, r };
  };
  const gate = build();
  const { r } = lossOf(gate);
  const dWeights = new Float32Array(tokens * r.k);
  for (let t = 0; t < tokens; t++) {
    for (let s = 0; s < r.k; s++) {
      const e = r.experts[t * r.k + s];
      if (e >= 0) dWeights[t * r.k + s] = c[t * experts + e];
    }
  }
  gate.parameters().forEach((p) => p.grad.fill(0));
  gate.backward(dWeights);
  let nonzero = 0;
  for (const [pi, p] of gate.parameters().entries()) {
    for (let i = 0; i < p.size; i++) {
      const at = (delta: number) => {
        const g = build();
        g.parameters()[pi].data[i] += delta;
        return lossOf(g).l;
      };
      const numerics = [1e-3, 1e-4].map((eps) => (at(eps) - at(-eps)) / (2 * eps));
      const analytic = p.grad[i];
      if (Math.abs(analytic) > 1e-4) nonzero++;
      assert(
        numerics.some((n) => Math.abs(n - analytic) <= 2e-3 + 2e-2 * Math.abs(n)),
        `${label} ${p.name}[${i}]: analytic ${analytic}, numeric ${numerics}`,
      );
    }
  }
  assert(nonzero > 10, `${label}: only ${nonzero} non-zero gradients, the check says little`);
}

Deno.test("dselect-k: every parameter's gradient matches finite differences (unsaturated bits)", () => {
  checkGate(dselectK, "dselect-k");
});

Deno.test("comet: gradients match finite differences during the search (Gumbel-Sinkhorn) and after it", () => {
  checkGate(comet, "comet searching");
  checkGate(comet, "comet hardened", { hardened: true });
});

Deno.test("base: the expert embeddings' gradient through σ(h·w) matches finite differences", () => {
  checkGate(baseLayer, "base");
});
