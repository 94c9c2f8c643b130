// The softmax-router gates' WGSL routing (their `gpuPlan`, run by the WebGPU MoE layer) against
// their own CPU `route` in evaluation: the same experts slot for slot (float64-logit near-ties
// aside), the same weights, and Switch's capacity dropping the same tokens, on odd shapes and
// past 65,535 slots.
import {
  compareGateRouting,
  createGpuMoeLayer,
  gateReference,
  MoeLayer,
  type MoeMethod,
} from "../../bench/families/moe/mod.ts";
import { defaultParams, type Method, type ParamValues } from "../../bench/metadata.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { testGpu } from "../../tests/gpu.ts";
import { assert, assertEquals } from "../../tests/assert.ts";
import { denseFfn } from "./dense_ffn.ts";
import { denseMixture } from "./dense_mixture.ts";
import { expertChoice } from "./expert_choice.ts";
import { gshardTop2 } from "./gshard_top2.ts";
import { switchGate } from "./switch.ts";
import { topkSoftmax } from "./topk_softmax.ts";

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = normal(mulberry32(seed));
  return Float32Array.from({ length: n }, () => g() * scale);
}

const CASES: {
  method: Method;
  params: ParamValues;
  tokens: number;
  dim: number;
  experts: number;
}[] = [
  // Capacity ⌈1.0·T/E⌉ over 70,001 tokens (one slot each): some experts overflow and drop.
  {
    method: switchGate,
    params: { ...defaultParams(switchGate.meta.parameters), capacityFactor: 1 },
    tokens: 70_001,
    dim: 13,
    experts: 7,
  },
  {
    method: switchGate,
    params: defaultParams(switchGate.meta.parameters),
    tokens: 301,
    dim: 64,
    experts: 8,
  },
  // 33,001 tokens × k = 2: 66,002 slots.
  {
    method: topkSoftmax,
    params: defaultParams(topkSoftmax.meta.parameters),
    tokens: 33_001,
    dim: 21,
    experts: 9,
  },
  {
    method: topkSoftmax,
    params: { ...defaultParams(topkSoftmax.meta.parameters), k: 1 },
    tokens: 300,
    dim: 7,
    experts: 3,
  },
  {
    method: denseMixture,
    params: defaultParams(denseMixture.meta.parameters),
    tokens: 517,
    dim: 11,
    experts: 5,
  },
];

Deno.test("gates without a WGSL plan keep their routing on the CPU", () => {
  for (const method of [gshardTop2, expertChoice, denseFfn]) {
    const gate = (method.impl as MoeMethod).createGate(
      { dim: 4, experts: 4 },
      defaultParams(method.meta.parameters),
      { seed: 1 },
    );
    assertEquals(gate.gpuPlan, undefined, method.meta.id);
  }
});

Deno.test({
  name: "switch, topk-softmax and dense-mixture route on the GPU as their CPU route() does",
  ignore: !testGpu,
  async fn() {
    for (const [n, c] of CASES.entries()) {
      const label = `${c.method.meta.id} ${JSON.stringify(c.params)} T=${c.tokens} E=${c.experts}`;
      const gate = (c.method.impl as MoeMethod).createGate(
        { dim: c.dim, experts: c.experts },
        c.params,
        { seed: 40 + n },
      );
      // Random router weights (noisy top-k starts from zeros, where every logit ties).
      for (const [i, p] of gate.parameters().entries()) {
        p.data.set(randn(p.size, 7 * n + i, 1 / Math.sqrt(c.dim)));
      }
      const x = randn(c.tokens * c.dim, 900 + n);
      const ids = new Uint32Array(c.tokens);
      const cpu = gate.route({ x, tokens: c.tokens, ids }, "eval");
      const plan = gate.gpuPlan!();
      assertEquals(plan.k, cpu.k, label);
      const layer = new MoeLayer({ dim: c.dim, hidden: 2, experts: c.experts }, gate);
      const gpu = await createGpuMoeLayer(testGpu!, layer, {
        h: x,
        tokens: c.tokens,
        k: plan.k,
        gate: plan,
      });
      try {
        const encoder = testGpu!.device.createCommandEncoder();
        gpu.encode(encoder);
        testGpu!.device.queue.submit([encoder.finish()]);
        const read = await gpu.readRouting();
        const reference = gateReference(plan, { x, tokens: c.tokens, dim: c.dim });
        const agreement = compareGateRouting(read, reference, plan.capacity(c.tokens));
        assertEquals(agreement.problem, null, label);
        // Near-ties may flip a choice (and, under a capacity, later drops): exact elsewhere.
        if (agreement.nearTies === 0) {
          assertEquals(Array.from(read.routing.experts), Array.from(cpu.experts), label);
          let maxErr = 0;
          cpu.weights.forEach((w, s) =>
            maxErr = Math.max(maxErr, Math.abs(w - read.routing.weights[s]))
          );
          assert(maxErr <= 1e-5, `${label}: weights differ by ${maxErr}`);
        } else {
          assert(
            agreement.nearTies <= c.tokens * 1e-3,
            `${label}: ${agreement.nearTies} near-ties`,
          );
        }
        if (c.params.capacityFactor === 1) {
          assert(cpu.experts.some((e) => e < 0), `${label}: the capacity dropped no token`);
        }
      } finally {
        gpu.dispose();
      }
    }
  },
});
