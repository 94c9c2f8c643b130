// The WGSL gate chained into the WebGPU MoE layer against its float64 reference on odd shapes:
// top-1 by probability with a capacity that drops tokens, top-2 with the kept-softmax weights,
// every expert, an odd k, more slots than llvmpipe lets one invocation loop over, and the
// layer's output for the routing the GPU chose.
import { testGpu } from "../../../tests/gpu.ts";
import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { mulberry32, normal } from "../../random.ts";
import {
  applyCapacity,
  assertGpuLoops,
  compareGateRouting,
  compareWithReference,
  createGpuMoeLayer,
  gateReference,
  type GpuGatePlan,
  MoeLayer,
  moeLayerReference,
  type Routing,
} from "./mod.ts";

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = normal(mulberry32(seed));
  return Float32Array.from({ length: n }, () => g() * scale);
}

const noGate = {
  parameters: () => [],
  route: (): Routing => {
    throw new Error("unused");
  },
  backward: () => new Float32Array(0),
};

interface Case {
  tokens: number;
  dim: number;
  hidden: number;
  experts: number;
  k: number;
  select: GpuGatePlan["select"];
  weighting: GpuGatePlan["weighting"];
  /** Capacity factor (⌈cf·T/E⌉ per expert), or none. */
  cf?: number;
  /** A bias toward expert 0 on the router, so a capacity has something to drop. */
  skew?: number;
  /**
   * Experts 1…E−1 copy the router rows of experts 0…E/2 (logits tie exactly, so no near-tie is
   * forgiven: the lower index must win on the GPU as in the reference).
   */
  ties?: boolean;
}

const CASES: Case[] = [
  { tokens: 1, dim: 5, hidden: 3, experts: 3, k: 1, select: "top-k", weighting: "probability" },
  {
    tokens: 37,
    dim: 11,
    hidden: 7,
    experts: 5,
    k: 2,
    select: "top-k",
    weighting: "kept-softmax",
  },
  { tokens: 130, dim: 9, hidden: 13, experts: 8, k: 8, select: "all", weighting: "probability" },
  { tokens: 257, dim: 7, hidden: 4, experts: 3, k: 3, select: "top-k", weighting: "kept-softmax" },
  {
    tokens: 301,
    dim: 64,
    hidden: 32,
    experts: 8,
    k: 2,
    select: "top-k",
    weighting: "kept-softmax",
    ties: true,
  },
  {
    tokens: 203,
    dim: 10,
    hidden: 6,
    experts: 6,
    k: 1,
    select: "top-k",
    weighting: "probability",
    ties: true,
  },
  // Switch's rule: capacity ⌈1.0·T/E⌉ with the router skewed toward expert 0, so tokens drop.
  {
    tokens: 1001,
    dim: 13,
    hidden: 5,
    experts: 7,
    k: 1,
    select: "top-k",
    weighting: "probability",
    cf: 1,
    skew: 1,
  },
  // Past 65,535 slots (70,002 and 70,001), chunks ending mid-way, blocks of 4 tokens and 4
  // experts cut short at both ends (70,001 tokens, E = 61), and a capacity cut across chunks.
  {
    tokens: 35_001,
    dim: 17,
    hidden: 5,
    experts: 13,
    k: 2,
    select: "top-k",
    weighting: "kept-softmax",
  },
  {
    tokens: 70_001,
    dim: 5,
    hidden: 3,
    experts: 61,
    k: 1,
    select: "top-k",
    weighting: "probability",
    cf: 1.25,
    skew: 0.5,
  },
];

function planOf(c: Case, seed: number): GpuGatePlan {
  const router = randn(c.experts * c.dim, seed, 1 / Math.sqrt(c.dim));
  // A skewed router: expert 0's weights lean along the inputs' mean direction (the inputs below
  // have a positive mean), so it is picked far more often than the others.
  if (c.skew) { for (let j = 0; j < c.dim; j++) router[j] += c.skew; }
  if (c.ties) {
    const half = Math.ceil(c.experts / 2);
    for (let e = half; e < c.experts; e++) {
      router.copyWithin(e * c.dim, (e - half) * c.dim, (e - half + 1) * c.dim);
    }
  }
  return {
    router,
    select: c.select,
    k: c.k,
    weighting: c.weighting,
    capacity: (tokens) => c.cf === undefined ? null : Math.ceil(c.cf * tokens / c.experts),
  };
}

Deno.test("applyCapacity() keeps each expert's first slots in slot order", () => {
  const kept = applyCapacity(Int32Array.from([2, 0, 2, -1, 2, 0, 1]), 3, 2);
  assertEquals(Array.from(kept), [1, 1, 1, 0, 0, 1, 1]);
  assertEquals(Array.from(applyCapacity(Int32Array.from([1, 1, -1]), 2, null)), [1, 1, 0]);
});

Deno.test("gateReference() ranks ties to the lower index and weights as its plan says", () => {
  // Two tokens of dim 1 and experts whose logits tie (0 and 2) above expert 1.
  const plan: GpuGatePlan = {
    router: Float32Array.from([1, 0.5, 1]),
    select: "top-k",
    k: 2,
    weighting: "kept-softmax",
    capacity: () => 1,
  };
  const ref = gateReference(plan, { x: Float32Array.from([2, 1]), tokens: 2, dim: 1 });
  assertEquals(Array.from(ref.chosen), [0, 2, 0, 2]);
  assertEquals(Array.from(ref.chosenWeights), [0.5, 0.5, 0.5, 0.5]);
  // Capacity 1: the second token's slots are both dropped.
  assertEquals(Array.from(ref.routing.experts), [0, 2, -1, -1]);
  const probability = gateReference({ ...plan, k: 1, weighting: "probability" }, {
    x: Float32Array.from([2]),
    tokens: 1,
    dim: 1,
  });
  const e = Math.exp(-1);
  assert(Math.abs(probability.chosenWeights[0] - 1 / (2 + e)) < 1e-7);
});

Deno.test("assertGpuLoops() refuses a loop past llvmpipe's 65,535 iterations", () => {
  assertGpuLoops({ features: 65_535 });
  assertThrows(() => assertGpuLoops({ features: 65_536 }), RangeError, "65536 times over features");
});

Deno.test("compareGateRouting() forgives a near-tie and nothing else", () => {
  const plan: GpuGatePlan = {
    router: Float32Array.from([1, 1 + 1e-7, 0]),
    select: "top-k",
    k: 1,
    weighting: "probability",
    capacity: () => null,
  };
  const ref = gateReference(plan, { x: Float32Array.from([1]), tokens: 1, dim: 1 });
  const routed = (e: number): { chosen: Int32Array; routing: Routing } => ({
    chosen: Int32Array.of(e),
    routing: {
      tokens: 1,
      k: 1,
      experts: Int32Array.of(e),
      weights: Float32Array.of(ref.chosenWeights[0]),
      auxLoss: 0,
      probabilities: null,
    },
  });
  const near = compareGateRouting(routed(0), ref, null);
  assertEquals([near.problem, near.nearTies], [null, 1]);
  assert(compareGateRouting(routed(2), ref, null).problem !== null);
});

Deno.test({
  name: "createGpuMoeLayer() with a gate plan routes as gateReference on odd shapes",
  ignore: !testGpu,
  async fn() {
    for (const [n, c] of CASES.entries()) {
      const layer = new MoeLayer({ dim: c.dim, hidden: c.hidden, experts: c.experts }, noGate);
      for (const [i, p] of layer.parameters().entries()) p.data.set(randn(p.size, 50 * n + i, 0.3));
      const h = randn(c.tokens * c.dim, 1000 + n).map((v) => v + 0.5);
      const plan = planOf(c, 77 + n);
      const gpu = await createGpuMoeLayer(testGpu!, layer, {
        h,
        tokens: c.tokens,
        k: c.k,
        gate: plan,
      });
      try {
        const encoder = testGpu!.device.createCommandEncoder();
        gpu.encode(encoder);
        testGpu!.device.queue.submit([encoder.finish()]);
        const read = await gpu.readRouting();
        const ref = gateReference(plan, { x: h, tokens: c.tokens, dim: c.dim });
        const capacity = plan.capacity(c.tokens);
        const agreement = compareGateRouting(read, ref, capacity);
        const label = JSON.stringify(c);
        assertEquals(agreement.problem, null, label);
        const allowed = c.ties ? 0 : c.tokens * 1e-3;
        assert(agreement.nearTies <= allowed, `${label}: ${agreement.nearTies} near-ties`);
        if (agreement.nearTies === 0) {
          assertEquals(Array.from(read.routing.experts), Array.from(ref.routing.experts), label);
        }
        const dropped = read.routing.experts.filter((e) => e < 0).length;
        if (c.cf !== undefined) assert(dropped > 0, `${label}: the capacity dropped nothing`);
        else assertEquals(dropped, 0, label);
        const y = await gpu.readOutput();
        const { passed, maxAbsError } = compareWithReference(
          y,
          moeLayerReference(layer, h, read.routing),
        );
        assert(passed, `${label}: layer output max |err| ${maxAbsError}`);
        assertEquals(gpu.phases.map((p) => p.passes.length), [2, 3, 2, 1]);
        assertThrows(() => gpu.setRouting(read.routing), RangeError, "runs on the GPU");
      } finally {
        gpu.dispose();
      }
    }
  },
});

Deno.test({
  name: "createGpuMoeLayer() refuses a plan that does not fit the batch",
  ignore: !testGpu,
  async fn() {
    const c = CASES[1];
    const layer = new MoeLayer({ dim: c.dim, hidden: c.hidden, experts: c.experts }, noGate);
    const h = randn(c.tokens * c.dim, 3);
    let error: unknown = null;
    try {
      await createGpuMoeLayer(testGpu!, layer, {
        h,
        tokens: c.tokens,
        k: 1,
        gate: planOf(c, 1),
      });
    } catch (e) {
      error = e;
    }
    assert(error instanceof RangeError && /keeps 2 slots/.test(error.message), String(error));
  },
});
