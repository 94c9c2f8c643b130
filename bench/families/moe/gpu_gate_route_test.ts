// The plain references of the WGSL gates beyond top-k softmax, worked by hand — choice-order
// capacity, renormalization after the cut, expert choice's ties and its near-tie forgiveness,
// the hash, the smooth-step selectors — and the WGSL expert-choice and hash gates against them on
// odd shapes.
import { testGpu } from "../../../tests/gpu.ts";
import { assert, assertEquals } from "../../../tests/assert.ts";
import { mulberry32, normal } from "../../random.ts";
import {
  applyCapacity,
  checkGpuRoute,
  compareExpertChoiceRouting,
  compareSelectorRouting,
  createGpuMoeLayer,
  expertChoiceReference,
  type GpuExpertChoicePlan,
  type GpuHashPlan,
  type GpuSelectorPlan,
  hashRouteReference,
  MoeLayer,
  renormalizeKept,
  routeCut,
  routesTokenByToken,
  type Routing,
  selectorRouteReference,
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

Deno.test("applyCapacity() in choice order places every first choice before any second", () => {
  // Tokens (first, second): (0, 1), (1, 0), (0, 1); capacity 2.
  const chosen = Int32Array.from([0, 1, 1, 0, 0, 1]);
  // Slot order: token 0 takes 0 and 1, token 1 takes 1 and 0, token 2 finds both full.
  assertEquals(Array.from(applyCapacity(chosen, 2, 2)), [1, 1, 1, 1, 0, 0]);
  // Choice order: first choices 0, 1, 0 fill expert 0 twice and 1 once; then second choices
  // 1 (token 0) fits, 0 (token 1) does not, 1 (token 2) does not.
  assertEquals(
    Array.from(applyCapacity(chosen, 2, 2, { by: "choice", k: 2 })),
    [1, 1, 1, 0, 1, 0],
  );
});

Deno.test("renormalizeKept() divides each token's kept weights by their sum", () => {
  const w = Float32Array.from([0.6, 0.3, 0.5, 0.25, 0.1, 0.1]);
  const out = renormalizeKept(w, Uint8Array.from([1, 0, 1, 1, 0, 0]), 2);
  assertEquals(Array.from(out), [1, 0, Math.fround(0.5 / 0.75), Math.fround(0.25 / 0.75), 0, 0]);
});

Deno.test("hashRouteReference() is the murmur3 finalizer of (id ⊕ seed) mod E", () => {
  const plan: GpuHashPlan = { kind: "hash", seed: 0, experts: 1 << 30, k: 1 };
  // fmix32(1) = 0x514e28b7 (the published murmur3 finalizer), taken mod 2³⁰.
  assertEquals(hashRouteReference(plan, Uint32Array.of(1), 1).experts[0], 0x514e28b7 % (1 << 30));
  assertEquals(routeCut(plan, 10, 4).maxRows, 10);
});

Deno.test("expertChoiceReference() takes tied tokens in token order; the check forgives only near-ties", () => {
  // Two experts, dim 1, router (1, −1): S[t, 0] = σ(2x) rises with x, S[t, 1] falls. Tokens
  // x = 2, 1, 1, 1: expert 0 takes token 0 and, of the three tied at 1, token 1; expert 1 takes
  // the first two of the tied three, tokens 1 and 2.
  const plan: GpuExpertChoicePlan = {
    kind: "expert-choice",
    router: Float32Array.of(1, -1),
    k: 2,
    take: () => 2,
  };
  const ref = expertChoiceReference(plan, { x: Float32Array.of(2, 1, 1, 1), tokens: 4, dim: 1 });
  assertEquals(Array.from(ref.routing.experts), [0, -1, 0, 1, -1, 1, -1, -1]);
  assertEquals(compareExpertChoiceRouting(ref.routing, ref).problem, null);
  // Expert 0 taking token 3 instead of token 1 (an exact tie out of token order) fails.
  const late = { ...ref.routing, experts: ref.routing.experts.slice() };
  late.experts[2] = -1;
  late.experts[6] = 0;
  late.weights = ref.routing.weights.slice();
  late.weights[6] = late.weights[2];
  late.weights[2] = 0;
  assert(/out of token order/.test(compareExpertChoiceRouting(late, ref).problem ?? ""));
  // A near-tie (x = 1 and 1 + 1e-9) may go either way; a clear gap may not.
  const near = expertChoiceReference(plan, {
    x: Float32Array.of(2, 1, 1.0000001, 0),
    tokens: 4,
    dim: 1,
  });
  const swapped = { ...near.routing, experts: near.routing.experts.slice() };
  swapped.weights = near.routing.weights.slice();
  // Reference takes token 2 (larger); give expert 0 token 1 instead.
  swapped.experts[4] = -1;
  swapped.experts[2] = 0;
  swapped.weights[2] = swapped.weights[4];
  swapped.weights[4] = 0;
  const forgiven = compareExpertChoiceRouting(swapped, near);
  assertEquals([forgiven.problem, forgiven.nearTies], [null, 2]);
  const far = { ...swapped, experts: swapped.experts.slice(), weights: swapped.weights.slice() };
  far.experts[2] = -1;
  far.weights[2] = 0;
  far.experts[6] = 0;
  far.weights[6] = swapped.weights[2];
  assert(compareExpertChoiceRouting(far, near).problem !== null);
});

Deno.test("selectorRouteReference() puts a saturated code's whole weight on one expert", () => {
  // One selector, E = 2: one decision a = x; S(1) = 1 (past γ/2 = 0.5) → leaf 1 only; S(0) = ½.
  const plan: GpuSelectorPlan = {
    kind: "smooth-step-selectors",
    decisions: Float32Array.of(1),
    mix: null,
    selectors: 1,
    layout: "binary-code",
    gamma: 1,
    k: 2,
  };
  const ref = selectorRouteReference(plan, { x: Float32Array.of(1, 0), tokens: 2, dim: 1 });
  assertEquals(Array.from(ref.experts), [-1, 1, 0, 1]);
  assertEquals(Array.from(ref.weights), [0, 1, 0.5, 0.5]);
  // Through a permutation (leaf-expert 1 → slot 0), and a check that sees a moved weight.
  const swapped = selectorRouteReference({ ...plan, leafTarget: Int32Array.of(1, 0) }, {
    x: Float32Array.of(1, 0),
    tokens: 2,
    dim: 1,
  });
  assertEquals(Array.from(swapped.experts), [0, -1, 0, 1]);
  assert(compareSelectorRouting(swapped, ref).problem !== null);
  assertEquals(compareSelectorRouting(ref, ref).problem, null);
});

Deno.test({
  name: "the WGSL expert-choice and hash gates route as their references on odd shapes",
  ignore: !testGpu,
  async fn() {
    const shapes = [
      { tokens: 1, dim: 3, experts: 2, c: 1 },
      { tokens: 1025, dim: 9, experts: 5, c: 2 },
      { tokens: 3001, dim: 4, experts: 13, c: 0.7 },
      { tokens: 2049, dim: 6, experts: 3, c: 3 },
    ];
    for (const [n, s] of shapes.entries()) {
      const layer = new MoeLayer({ dim: s.dim, hidden: 3, experts: s.experts }, noGate);
      for (const [i, p] of layer.parameters().entries()) p.data.set(randn(p.size, 60 * n + i, 0.3));
      const x = randn(s.tokens * s.dim, 500 + n);
      const ids = Uint32Array.from({ length: s.tokens }, (_, t) => (t * 2654435761) >>> 0);
      const plans = [
        {
          kind: "expert-choice",
          router: randn(s.experts * s.dim, 70 + n, 1 / Math.sqrt(s.dim)),
          k: s.experts,
          take: (t: number) => Math.min(t, Math.ceil(t * s.c / s.experts)),
        } satisfies GpuExpertChoicePlan,
        { kind: "hash", seed: -12345 + n, experts: s.experts, k: 1 } satisfies GpuHashPlan,
      ];
      for (const plan of plans) {
        const gpu = await createGpuMoeLayer(testGpu!, layer, {
          h: x,
          ids,
          tokens: s.tokens,
          k: plan.k,
          gate: plan,
        });
        try {
          const encoder = testGpu!.device.createCommandEncoder();
          gpu.encode(encoder);
          testGpu!.device.queue.submit([encoder.finish()]);
          const read = await gpu.readRouting();
          const label = `${plan.kind} ${JSON.stringify(s)}`;
          const agreement = checkGpuRoute(plan, read, { x, ids, tokens: s.tokens, dim: s.dim });
          assertEquals(agreement.problem, null, label);
          assert(agreement.nearTies <= s.tokens * 1e-3, label);
          // Every expert takes exactly its share under expert choice.
          if (plan.kind === "expert-choice") {
            const load = new Int32Array(s.experts);
            for (const e of read.routing.experts) if (e >= 0) load[e]++;
            assertEquals(new Set(load).size, 1, label);
            assertEquals(load[0], plan.take(s.tokens), label);
          }
        } finally {
          gpu.dispose();
        }
      }
    }
  },
});

Deno.test({
  name: "a dense mixture too large for one binding runs as token slices with the same output",
  ignore: !testGpu,
  async fn() {
    const tokens = 1003, dim = 7, hidden = 5, experts = 6;
    const layer = new MoeLayer({ dim, hidden, experts }, noGate);
    for (const [i, p] of layer.parameters().entries()) p.data.set(randn(p.size, 90 + i, 0.3));
    const h = randn(tokens * dim, 91);
    const plan = {
      router: randn(experts * dim, 92, 1 / Math.sqrt(dim)),
      select: "all" as const,
      k: experts,
      weighting: "probability" as const,
      capacity: () => null,
    };
    assert(routesTokenByToken(plan, tokens));
    assert(!routesTokenByToken({ ...plan, select: "top-k", k: 2 }, tokens));
    const run = async (maxBindingBytes?: number) => {
      const gpu = await createGpuMoeLayer(testGpu!, layer, {
        h,
        tokens,
        k: experts,
        gate: plan,
        maxBindingBytes,
      });
      try {
        const encoder = testGpu!.device.createCommandEncoder();
        gpu.encode(encoder);
        testGpu!.device.queue.submit([encoder.finish()]);
        return {
          y: await gpu.readOutput(),
          routing: (await gpu.readRouting()).routing,
          gatePasses: gpu.phases[0].passes.length,
        };
      } finally {
        gpu.dispose();
      }
    };
    const whole = await run();
    // 100 tokens' rows per binding: 11 slices, the last of 3 tokens.
    const sliced = await run(100 * experts * dim * 4);
    assertEquals(whole.gatePasses, 2);
    assertEquals(sliced.gatePasses, 22);
    assertEquals(sliced.routing.tokens, tokens);
    assertEquals(Array.from(sliced.routing.experts), Array.from(whole.routing.experts));
    assertEquals(Array.from(sliced.routing.weights), Array.from(whole.routing.weights));
    assertEquals(Array.from(sliced.y), Array.from(whole.y));
    // A top-2 plan with a capacity shares the batch between tokens: it is refused, not sliced.
    let error: unknown = null;
    try {
      await run2();
    } catch (e) {
      error = e;
    }
    assert(error instanceof RangeError && /largest storage binding/.test(error.message));
    async function run2() {
      const gpu = await createGpuMoeLayer(testGpu!, layer, {
        h,
        tokens,
        k: 2,
        gate: { ...plan, select: "top-k", k: 2, capacity: () => Math.ceil(tokens / experts) },
        maxBindingBytes: 100 * 2 * dim * 4,
      });
      gpu.dispose();
    }
  },
});
