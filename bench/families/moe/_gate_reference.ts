// The plain CPU reference of the WebGPU gate (a softmax-router plan's routing in float64: logits,
// softmax, top-k with ties to the lower index, each expert's capacity in slot order) and the
// check of a GPU routing against it, which forgives only near-ties of the float64 logits.
import type { GpuGatePlan, Routing } from "./_interface.ts";

/**
 * Two experts whose float64 logits differ by at most this much (times max(1, |logit|)) are a
 * near-tie: float32 logits (a dot product over the layer's width) may order them either way.
 * A float32 sum of 64 products of unit-scale terms errs by ~1e-6; ten times that is still far
 * below any gap a trained or seeded router produces between distinct choices on purpose.
 */
export const NEAR_TIE = 1e-5;

/** Slot weights of a GPU routing may differ from the float64 reference's by this much. */
export const GATE_WEIGHT_TOLERANCE = 1e-5;

/** The reference's routing, with what it was decided from. */
export interface GateReference {
  /** Each slot's expert before the capacity cut [tokens × k]. */
  chosen: Int32Array;
  /** Each slot's weight before the cut. */
  chosenWeights: Float32Array;
  /** The routing after the cut (dropped slots empty). */
  routing: Routing;
  /** Float64 logits [tokens × experts], to tell near-ties. */
  logits: Float64Array;
}

/**
 * Which slots each expert keeps under a capacity: its first `capacity` slots in slot order (the
 * CPU gates' "first come" rule), or with `order.by` "choice" in choice order (every token's
 * first slot, then every token's second…; `order.k` slots per token); every non-empty slot when
 * `capacity` is null.
 *
 * @returns 1 for a kept slot, 0 for a dropped or empty one
 */
export function applyCapacity(
  chosen: Int32Array,
  experts: number,
  capacity: number | null,
  order: { by: "slot" | "choice"; k: number } = { by: "slot", k: 1 },
): Uint8Array {
  const fill = new Int32Array(experts), kept = new Uint8Array(chosen.length);
  const k = order.by === "choice" ? order.k : 1, tokens = chosen.length / k;
  for (let i = 0; i < chosen.length; i++) {
    const s = k === 1 ? i : (i % tokens) * k + Math.floor(i / tokens), e = chosen[s];
    if (e >= 0 && (capacity === null || fill[e] < capacity)) {
      fill[e]++;
      kept[s] = 1;
    }
  }
  return kept;
}

/** A plan's capacity order, as {@link applyCapacity} takes it. */
function orderOf(plan: Pick<GpuGatePlan, "capacityOrder" | "k">) {
  return { by: plan.capacityOrder ?? "slot", k: plan.k } as const;
}

/**
 * Each kept slot's weight divided by the sum of its token's kept weights (MoE-LLaVA's top-2
 * after the capacity cut); a token with nothing kept keeps zeros.
 */
export function renormalizeKept(
  weights: Float32Array,
  kept: Uint8Array,
  k: number,
): Float32Array {
  const out = new Float32Array(weights.length);
  for (let t = 0; t < weights.length / k; t++) {
    let sum = 0;
    for (let s = 0; s < k; s++) if (kept[t * k + s]) sum += weights[t * k + s];
    for (let s = 0; s < k; s++) if (kept[t * k + s]) out[t * k + s] = weights[t * k + s] / sum;
  }
  return out;
}

/**
 * The plan's routing of inputs `x` [tokens × dim], computed plainly in float64.
 *
 * @throws {RangeError} when `x` is shorter than tokens × dim, or the router is not E × dim
 */
export function gateReference(
  plan: GpuGatePlan,
  batch: { x: Float32Array; tokens: number; dim: number },
): GateReference {
  const { k, router } = plan, { x, tokens, dim } = batch, E = router.length / dim;
  if (x.length < tokens * dim || !Number.isInteger(E) || E < 1) {
    throw new RangeError(
      `Cannot compute the gate's reference: ${x.length} inputs for ${tokens}×${dim}, a router of ${router.length} weights`,
    );
  }
  const logits = new Float64Array(tokens * E), p = new Float64Array(E);
  const chosen = new Int32Array(tokens * k), weights = new Float32Array(tokens * k);
  for (let t = 0; t < tokens; t++) {
    let max = -Infinity, sum = 0;
    for (let e = 0; e < E; e++) {
      let l = 0;
      for (let j = 0; j < dim; j++) l += x[t * dim + j] * router[e * dim + j];
      logits[t * E + e] = l;
      max = Math.max(max, l);
    }
    for (let e = 0; e < E; e++) sum += p[e] = Math.exp(logits[t * E + e] - max);
    for (let e = 0; e < E; e++) p[e] /= sum;
    const byProbability = plan.weighting === "probability" || plan.weighting === "renormalized";
    const rank = byProbability ? p : logits.subarray(t * E, t * E + E);
    const top = plan.select === "all" ? Array.from({ length: E }, (_, e) => e) : topK(rank, k);
    const lead = logits[t * E + top[0]];
    let kept = 0, chosenSum = 0;
    for (const e of top) {
      kept += Math.exp(logits[t * E + e] - lead);
      chosenSum += p[e];
    }
    top.forEach((e, s) => {
      chosen[t * k + s] = e;
      const l = logits[t * E + e];
      weights[t * k + s] = plan.weighting === "probability"
        ? p[e]
        : plan.weighting === "renormalized"
        ? p[e] / chosenSum
        : plan.weighting === "sigmoid"
        ? 1 / (1 + Math.exp(-l))
        : Math.exp(l - lead) / kept;
    });
  }
  const keep = applyCapacity(chosen, E, plan.capacity(tokens), orderOf(plan));
  const experts = chosen.map((e, s) => keep[s] ? e : -1);
  const routed = plan.renormalizeKept
    ? renormalizeKept(weights, keep, k)
    : weights.map((w, s) => keep[s] ? w : 0);
  return {
    chosen,
    chosenWeights: weights,
    routing: { tokens, k, experts, weights: routed, auxLoss: 0, probabilities: null },
    logits,
  };
}

/** The k largest of `v`, largest first, ties to the lower index (as `topKIndices`). */
function topK(v: ArrayLike<number>, k: number): number[] {
  const out: number[] = [];
  for (let e = 0; e < v.length; e++) {
    let pos = out.length;
    while (pos > 0 && v[out[pos - 1]] < v[e]) pos--;
    if (pos < k) {
      out.splice(pos, 0, e);
      if (out.length > k) out.pop();
    }
  }
  return out;
}

/** How a GPU routing compares with the reference. */
export interface GateAgreement {
  /** Tokens whose chosen experts differ from the reference's only by near-ties. */
  nearTies: number;
  /** The largest |weight − reference| over tokens that chose as the reference did. */
  maxWeightError: number;
  /** Null when the routing agrees, else the first disagreement. */
  problem: string | null;
}

/**
 * Checks a GPU routing against the float64 reference: each slot's chosen expert equals the
 * reference's unless the two are a near-tie ({@link NEAR_TIE}) of its float64 logits; weights
 * within {@link GATE_WEIGHT_TOLERANCE} where the choices agree; and the capacity cut, applied to
 * the GPU's own choices, exactly the slots the GPU kept (a near-tie may move a token's load to
 * another expert, so later drops follow the GPU's choices, not the reference's).
 */
export function compareGateRouting(
  gpu: { chosen: Int32Array; routing: Routing },
  reference: GateReference,
  capacity: number | null,
  rule: Pick<GpuGatePlan, "capacityOrder" | "renormalizeKept"> = {},
): GateAgreement {
  const { tokens, k } = reference.routing, E = reference.logits.length / Math.max(1, tokens);
  let nearTies = 0, maxWeightError = 0;
  const fail = (problem: string) => ({ nearTies, maxWeightError, problem });
  if (gpu.chosen.length !== tokens * k || gpu.routing.weights.length !== tokens * k) {
    return fail(`expected ${tokens}×${k} slots, got ${gpu.chosen.length}`);
  }
  for (let t = 0; t < tokens; t++) {
    let same = true;
    for (let s = 0; s < k; s++) {
      const a = gpu.chosen[t * k + s], b = reference.chosen[t * k + s];
      if (a === b) continue;
      same = false;
      if (!(a >= 0 && a < E)) return fail(`token ${t} slot ${s}: expert ${a} is outside [0, ${E})`);
      const la = reference.logits[t * E + a], lb = reference.logits[t * E + b];
      const gap = Math.abs(la - lb), scale = Math.max(1, Math.abs(lb));
      if (gap > NEAR_TIE * scale) {
        return fail(
          `token ${t} slot ${s}: expert ${a} where the reference has ${b} (float64 logits ${
            la.toPrecision(8)
          } vs ${lb.toPrecision(8)}, not a near-tie)`,
        );
      }
    }
    if (!same) {
      nearTies++;
      continue;
    }
    // A renormalizing gate divides by the sum over the slots the GPU kept (checked below).
    let keptSum = 0;
    for (let s = 0; s < k; s++) {
      if (gpu.routing.experts[t * k + s] >= 0) keptSum += reference.chosenWeights[t * k + s];
    }
    for (let s = 0; s < k; s++) {
      // Dropped slots carry no weight on the GPU; kept ones must carry the reference's.
      if (gpu.routing.experts[t * k + s] < 0) continue;
      const expected = reference.chosenWeights[t * k + s] / (rule.renormalizeKept ? keptSum : 1);
      const err = Math.abs(gpu.routing.weights[t * k + s] - expected);
      if (!(err <= maxWeightError)) maxWeightError = Number.isNaN(err) ? Infinity : err;
    }
  }
  if (maxWeightError > GATE_WEIGHT_TOLERANCE) {
    return fail(
      `slot weights differ from the reference by up to ${maxWeightError.toExponential(2)}`,
    );
  }
  const keep = applyCapacity(gpu.chosen, E, capacity, {
    by: rule.capacityOrder ?? "slot",
    k,
  });
  for (let s = 0; s < tokens * k; s++) {
    const kept = gpu.routing.experts[s] >= 0 ? 1 : 0;
    if (kept !== keep[s]) {
      return fail(
        `slot ${s} (token ${Math.floor(s / k)}): ${
          kept ? "kept" : "dropped"
        } on the GPU, but the capacity ${capacity} in ${rule.capacityOrder ?? "slot"} order ${
          kept ? "drops" : "keeps"
        } it`,
      );
    }
    if (kept && gpu.routing.experts[s] !== gpu.chosen[s]) {
      return fail(`slot ${s}: routed to ${gpu.routing.experts[s]}, chosen ${gpu.chosen[s]}`);
    }
  }
  return { nearTies, maxWeightError, problem: null };
}
