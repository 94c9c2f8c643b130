// The MoE FFN's reverse-mode gradients (experts, router, balance loss; k = 1 and 2) against
// central finite differences, alone and inside a GPT, and its forward against a token-by-token
// float64 reference.
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { mulberry32, normal } from "../random.ts";
import { Gpt } from "./gpt.ts";
import { softmaxCrossEntropy } from "./layers.ts";
import { MoeFfn } from "./moe_ffn.ts";
import type { Param } from "./param.ts";

const gelu = (v: number) =>
  0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

/** A layer with seeded weights; the router's scaled up so that top-k margins are wide. */
function layer(k: number, experts = 5): MoeFfn {
  const ffn = new MoeFfn("moe", { dim: 6, hidden: 7, experts, k, alpha: 0.5 }, 11);
  const g = normal(mulberry32(3));
  for (const p of ffn.parameters()) {
    const std = p === ffn.router.weight ? 1.5 : 0.4;
    for (let i = 0; i < p.size; i++) p.data[i] = std * g();
  }
  return ffn;
}

/** Entries of each parameter whose gradient differs from the central difference (routing held). */
function mismatches(
  params: Param[],
  loss: () => { value: number; route: string },
  backward: () => void,
  count = 6,
): { bad: string[]; checked: number } {
  const eps = 1e-2, pick = mulberry32(9), bad: string[] = [];
  for (const p of params) p.grad.fill(0);
  const route = loss().route;
  backward();
  let checked = 0;
  for (const p of params) {
    for (let c = 0; c < count; c++) {
      const i = Math.floor(pick() * p.size), old = p.data[i];
      p.data[i] = old + eps;
      const up = loss();
      p.data[i] = old - eps;
      const down = loss();
      p.data[i] = old;
      // A perturbation that changes a top-k choice crosses a discontinuity: not a derivative.
      if (up.route !== route || down.route !== route) continue;
      checked++;
      const numeric = (up.value - down.value) / (2 * eps), analytic = p.grad[i];
      if (Math.abs(analytic - numeric) > 2e-2 * Math.max(0.1, Math.abs(numeric)) + 1e-4) {
        bad.push(`${p.name}[${i}]: analytic ${analytic} vs numeric ${numeric}`);
      }
    }
  }
  return { bad, checked };
}

for (const k of [1, 2]) {
  Deno.test(`MoE FFN gradients match finite differences (k = ${k}, balance loss included)`, () => {
    const ffn = layer(k), rows = 9, dim = 6;
    const g = normal(mulberry32(4));
    const x = Float32Array.from({ length: rows * dim }, () => g());
    const c = Float32Array.from({ length: rows * dim }, () => g());
    // L = Σ c·y + α·E·Σ fᵢPᵢ: dL/dy = c, the balance term's gradient comes from the layer.
    const loss = () => {
      const y = ffn.forward(x, rows);
      let v = ffn.auxLoss;
      for (let i = 0; i < y.length; i++) v += c[i] * y[i];
      return { value: v, route: ffn.lastRouting!.experts.join() };
    };
    let dx: Float32Array = new Float32Array(0);
    const { bad, checked } = mismatches(ffn.parameters(), loss, () => {
      ffn.forward(x, rows);
      dx = ffn.backward(c);
    });
    assertEquals(bad, []);
    assert(checked > 0.8 * 6 * ffn.parameters().length, `only ${checked} entries checked`);
    // ∂L/∂x, entry by entry.
    const route = loss().route;
    for (const i of [0, 7, 20, 41, 53]) {
      const old = x[i];
      x[i] = old + 1e-2;
      const up = loss();
      x[i] = old - 1e-2;
      const down = loss();
      x[i] = old;
      if (up.route !== route || down.route !== route) continue;
      const numeric = (up.value - down.value) / 2e-2;
      assert(Math.abs(dx[i] - numeric) <= 2e-2 * Math.max(0.1, Math.abs(numeric)) + 1e-4);
    }
  });

  Deno.test(`MoE FFN forward equals a token-by-token float64 reference (k = ${k})`, () => {
    const ffn = layer(k, 4), rows = 5, dim = 6, E = 4;
    const g = normal(mulberry32(8));
    const x = Float32Array.from({ length: rows * dim }, () => g());
    const y = ffn.forward(x, rows);
    const W = ffn.router.weight.data;
    for (let t = 0; t < rows; t++) {
      const xt = Array.from(x.subarray(t * dim, t * dim + dim));
      const logits = Array.from(
        { length: E },
        (_, e) => xt.reduce((s, v, j) => s + v * W[e * dim + j], 0),
      );
      const z = logits.map((l) => Math.exp(l - Math.max(...logits)));
      const p = z.map((v) => v / z.reduce((a, b) => a + b, 0));
      const order = [...p.keys()].sort((a, b) => p[b] - p[a] || a - b).slice(0, k);
      const kept = order.reduce((s, e) => s + p[e], 0);
      const want = new Array(dim).fill(0);
      for (const e of order) {
        const w = k === 1 ? p[e] : p[e] / kept;
        const { fc, proj } = ffn.experts[e];
        const h = Array.from(
          { length: 7 },
          (_, i) =>
            gelu(xt.reduce((s, v, j) => s + v * fc.weight.data[i * dim + j], fc.bias!.data[i])),
        );
        for (let o = 0; o < dim; o++) {
          want[o] += w *
            h.reduce((s, v, i) => s + v * proj.weight.data[o * 7 + i], proj.bias!.data[o]);
        }
      }
      assertEquals(Array.from(ffn.lastRouting!.experts.subarray(t * k, t * k + k)), order);
      for (let o = 0; o < dim; o++) {
        assert(Math.abs(y[t * dim + o] - want[o]) < 1e-5, `token ${t} feature ${o}`);
      }
    }
  });
}

Deno.test("A GPT with MoE FFNs backpropagates through them (k = 2, finite differences)", () => {
  const model = new Gpt({ vocab: 11, context: 7, dim: 12, heads: 3, layers: 2 }, {
    ffn: (name, dim) => new MoeFfn(name, { dim, hidden: 10, experts: 4, k: 2, alpha: 0.01 }),
  });
  model.init(3);
  const ffns = model.blocks.map((b) => b.ffn as MoeFfn);
  // Wide router margins, so that small perturbations keep every top-2 choice.
  for (const f of ffns) f.router.weight.data.forEach((v, i, a) => a[i] = 40 * v);
  const u = mulberry32(5), batch = 2;
  const ids = Int32Array.from({ length: 14 }, () => Math.floor(u() * 11));
  const targets = Int32Array.from({ length: 14 }, () => Math.floor(u() * 11));
  const loss = () => {
    const ce = softmaxCrossEntropy(model.forward(ids, batch), targets).loss;
    return {
      value: ce + ffns.reduce((s, f) => s + f.auxLoss, 0),
      route: ffns.map((f) => f.lastRouting!.experts.join()).join("|"),
    };
  };
  const { bad, checked } = mismatches(model.parameters(), loss, () => {
    model.backward(softmaxCrossEntropy(model.forward(ids, batch), targets).dlogits);
  }, 3);
  assertEquals(bad, []);
  assert(checked > 0.8 * 3 * model.parameters().length, `only ${checked} entries checked`);
  assertThrows(() => model.linears(), Error, "MoE GPT");
});

Deno.test("MoE FFN: k outside [1, experts] is a clear error", () => {
  assertThrows(
    () => new MoeFfn("m", { dim: 4, hidden: 4, experts: 3, k: 4, alpha: 0 }),
    RangeError,
    "k must be an integer in [1, 3]",
  );
});

Deno.test("MoE FFN with a family gate: its routing drives the experts, empty slots add nothing", () => {
  const ffn = layer(1, 3), rows = 3, dim = 6;
  const x = Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(i));
  let received: Float32Array | null = null;
  ffn.gate = {
    parameters: () => [],
    // Token 0 → expert 2 at weight 0.5, token 1 dropped, token 2 → expert 0 at weight 1.
    route: ({ tokens }) => ({
      tokens,
      k: 1,
      experts: Int32Array.from([2, -1, 0]),
      weights: Float32Array.from([0.5, 0, 1]),
      auxLoss: 0.25,
      probabilities: null,
    }),
    backward(dWeights) {
      received = dWeights;
      return new Float32Array(rows * dim);
    },
  };
  const y = ffn.forward(x, rows);
  const e2 = ffn.experts[2].forward(x.slice(0, dim), 1),
    e0 = ffn.experts[0].forward(x.slice(12), 1);
  for (let j = 0; j < dim; j++) {
    assert(Math.abs(y[j] - 0.5 * e2[j]) < 1e-6);
    assertEquals(y[dim + j], 0);
    assert(Math.abs(y[2 * dim + j] - e0[j]) < 1e-6);
  }
  assertEquals(ffn.auxLoss, 0.25);
  ffn.forward(x, rows);
  ffn.backward(new Float32Array(rows * dim).fill(1));
  // ∂L/∂w of a slot = Σ_j ∂y_j · FFN_e(x)_j; the dropped slot's is 0.
  const dW = received as unknown as Float32Array;
  assert(Math.abs(dW[0] - e2.reduce((s, v) => s + v, 0)) < 1e-5);
  assertEquals(dW[1], 0);
});
