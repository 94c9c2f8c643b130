// One entry for every WGSL gate the WebGPU MoE layer runs: the passes of a plan of any kind
// (softmax router, hash, expert choice), what its permutation needs to know of it (capacity and
// its order, renormalization after the cut, the most rows it can route), and its check against
// its plain reference.
import {
  compareGateRouting,
  type GateAgreement,
  gateReference,
  NEAR_TIE,
} from "./_gate_reference.ts";
import { createGpuGate, type GpuGate } from "./_gpu_gate.ts";
import { createGpuExpertChoiceGate } from "./_gpu_gate_expert_choice.ts";
import {
  compareExpertChoiceRouting,
  expertChoiceReference,
} from "./_gpu_gate_expert_choice_reference.ts";
import { createGpuHashGate, hashRouteReference } from "./_gpu_gate_hash.ts";
import {
  compareSelectorRouting,
  createGpuSelectorGate,
  selectorRouteReference,
} from "./_gpu_gate_selectors.ts";
import type { GpuRoutePlan, Routing } from "./_interface.ts";

/** The batch a plan routes: its inputs and ids on the host, its slot buffers on the device. */
export interface RouteBatch {
  /** The layer's input on the device [tokens × dim]. */
  x: GPUBuffer;
  /** Token ids (hash routing). */
  ids?: Uint32Array;
  tokens: number;
  dim: number;
  experts: number;
  slotExpert: GPUBuffer;
  weights: GPUBuffer;
}

/**
 * The passes of `plan`'s gate over `batch`.
 *
 * @throws {RangeError} as the kind's builder does, or for a hash plan without ids
 */
export function createRouteGate(
  device: GPUDevice,
  plan: GpuRoutePlan,
  batch: RouteBatch,
): Promise<GpuGate> {
  if (plan.kind === "hash") {
    if (!batch.ids) throw new RangeError("Cannot hash-route on the GPU: no token ids given");
    return createGpuHashGate(device, plan, { ...batch, ids: batch.ids });
  }
  if (plan.kind === "expert-choice") return createGpuExpertChoiceGate(device, plan, batch);
  if (plan.kind === "smooth-step-selectors") return createGpuSelectorGate(device, plan, batch);
  return createGpuGate(device, plan, batch);
}

/** How the permutation treats a plan's slots. */
export interface RouteCut {
  /** Each expert's capacity, or null (no cut). */
  capacity: number | null;
  /** The order slots fill a capacity in. */
  order: "slot" | "choice";
  /** Whether each token's kept weights are divided by their sum after the cut. */
  renormalizeKept: boolean;
  /** The most rows the plan can route (the routed rows' buffers are this long). */
  maxRows: number;
}

/** The permutation's view of `plan` on a batch of `tokens` over `experts`. */
export function routeCut(plan: GpuRoutePlan, tokens: number, experts: number): RouteCut {
  if (plan.kind === "hash") {
    return { capacity: null, order: "slot", renormalizeKept: false, maxRows: tokens };
  }
  if (plan.kind === "smooth-step-selectors") {
    // Unsaturated selectors may weigh every expert: any slot may be routed.
    return { capacity: null, order: "slot", renormalizeKept: false, maxRows: tokens * plan.k };
  }
  if (plan.kind === "expert-choice") {
    // Every expert takes exactly `take` tokens (checked when the gate is built).
    const take = plan.take(tokens);
    return {
      capacity: null,
      order: "slot",
      renormalizeKept: false,
      maxRows: Math.min(tokens * plan.k, Math.max(0, take) * experts),
    };
  }
  const capacity = plan.capacity(tokens), slots = tokens * plan.k;
  return {
    capacity,
    order: plan.capacityOrder ?? "slot",
    renormalizeKept: plan.renormalizeKept ?? false,
    maxRows: capacity === null ? slots : Math.min(slots, capacity * experts),
  };
}

/**
 * Checks a GPU routing of `plan` against the plan's plain reference: the float64 gate reference
 * (softmax routers: near-ties of the logits forgiven; expert choice: near-ties with an expert's
 * threshold forgiven; smooth-step selectors: weights within 1e-5) or, for hash routing, the same hash in TypeScript (exact).
 *
 * @param gpu what the layer routed: each slot's expert before any cut, and the routing after it
 */
export function checkGpuRoute(
  plan: GpuRoutePlan,
  gpu: { chosen: Int32Array; routing: Routing },
  input: { x: Float32Array; ids: Uint32Array; tokens: number; dim: number },
): GateAgreement & { forgiven: string } {
  if (plan.kind === "hash") {
    const ref = hashRouteReference(plan, input.ids, input.tokens);
    const slot = ref.experts.findIndex((e, s) => gpu.routing.experts[s] !== e);
    const weight = gpu.routing.weights.findIndex((w) => w !== 1);
    const problem = gpu.routing.experts.length !== ref.experts.length
      ? `expected ${input.tokens} slots, got ${gpu.routing.experts.length}`
      : slot >= 0
      ? `token ${slot} (id ${input.ids[slot]}): expert ${
        gpu.routing.experts[slot]
      } on the GPU, hash ${ref.experts[slot]}`
      : weight >= 0
      ? `token ${weight}: weight ${gpu.routing.weights[weight]}, not 1`
      : null;
    return { nearTies: 0, maxWeightError: 0, problem, forgiven: "none (integer hash, exact)" };
  }
  if (plan.kind === "expert-choice") {
    const agreement = compareExpertChoiceRouting(gpu.routing, expertChoiceReference(plan, input));
    return {
      ...agreement,
      forgiven: `tokens within ${
        NEAR_TIE.toExponential(0)
      } of an expert's threshold in float64 log-probability`,
    };
  }
  if (plan.kind === "smooth-step-selectors") {
    return {
      ...compareSelectorRouting(gpu.routing, selectorRouteReference(plan, input)),
      forgiven: "slots of weight below 1e-5 present on one side only (a decision at ±γ/2)",
    };
  }
  const agreement = compareGateRouting(
    gpu,
    gateReference(plan, input),
    plan.capacity(input.tokens),
    plan,
  );
  return { ...agreement, forgiven: `near-ties of the logits within ${NEAR_TIE.toExponential(0)}` };
}
