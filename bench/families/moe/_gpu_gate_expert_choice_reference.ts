// The plain CPU reference of the WGSL expert-choice gate: float64 logits and softmax, each
// expert's top `take` tokens by a full sort (ties to the earlier token), and the check of a GPU
// routing against it, which forgives only tokens at a near-tie with the expert's threshold.
import { GATE_WEIGHT_TOLERANCE, type GateAgreement, NEAR_TIE } from "./_gate_reference.ts";
import type { GpuExpertChoicePlan, Routing } from "./_interface.ts";

/** The reference's routing and what tells its near-ties. */
export interface ExpertChoiceReference {
  /** Slots [tokens × E]: e where expert e takes token t, else −1; weights S[t, e]. */
  routing: Routing;
  /** Float64 log-probabilities [tokens × E]. */
  logProbabilities: Float64Array;
  /** Each expert's threshold: the log-probability of the last token it takes. */
  thresholds: Float64Array;
}

/**
 * The plan's routing of `x` [tokens × dim], plainly in float64.
 *
 * @throws {RangeError} when `x` is shorter than tokens × dim or the router is not E × dim
 */
export function expertChoiceReference(
  plan: GpuExpertChoicePlan,
  batch: { x: Float32Array; tokens: number; dim: number },
): ExpertChoiceReference {
  const { x, tokens, dim } = batch, E = plan.router.length / dim, take = plan.take(tokens);
  if (x.length < tokens * dim || !Number.isInteger(E) || E !== plan.k) {
    throw new RangeError(
      `Cannot compute expert choice's reference: ${x.length} inputs for ${tokens}×${dim}, a router of ${plan.router.length} weights, k = ${plan.k}`,
    );
  }
  const logp = new Float64Array(tokens * E);
  for (let t = 0; t < tokens; t++) {
    let max = -Infinity;
    for (let e = 0; e < E; e++) {
      let l = 0;
      for (let j = 0; j < dim; j++) l += x[t * dim + j] * plan.router[e * dim + j];
      logp[t * E + e] = l;
      max = Math.max(max, l);
    }
    let sum = 0;
    for (let e = 0; e < E; e++) sum += Math.exp(logp[t * E + e] - max);
    const lse = max + Math.log(sum);
    for (let e = 0; e < E; e++) logp[t * E + e] -= lse;
  }
  const experts = new Int32Array(tokens * E).fill(-1), weights = new Float32Array(tokens * E);
  const thresholds = new Float64Array(E);
  const order = Array.from({ length: tokens }, (_, t) => t);
  for (let e = 0; e < E; e++) {
    order.sort((a, b) => logp[b * E + e] - logp[a * E + e] || a - b);
    for (let i = 0; i < take; i++) {
      const t = order[i];
      experts[t * E + e] = e;
      weights[t * E + e] = Math.exp(logp[t * E + e]);
    }
    thresholds[e] = take > 0 ? logp[order[take - 1] * E + e] : Infinity;
  }
  return {
    routing: { tokens, k: E, experts, weights, auxLoss: 0, probabilities: null },
    logProbabilities: logp,
    thresholds,
  };
}

/**
 * Checks a GPU expert-choice routing against the reference: every expert takes exactly `take`
 * tokens; a token taken on one side only must be at a near-tie with that expert's threshold
 * (float64 log-probabilities within {@link NEAR_TIE}·max(1, |threshold|): float32 softmaxes may
 * order such tokens either way), and tokens exactly at it go in token order unless a near-tie
 * moved the expert's count; taken slots weigh S[t, e] within {@link GATE_WEIGHT_TOLERANCE}.
 */
export function compareExpertChoiceRouting(
  gpu: Routing,
  reference: ExpertChoiceReference,
): GateAgreement {
  const { tokens, k: E } = reference.routing;
  const near = new Set<number>();
  let maxWeightError = 0;
  const fail = (problem: string) => ({ nearTies: near.size, maxWeightError, problem });
  if (gpu.experts.length !== tokens * E || gpu.weights.length !== tokens * E) {
    return fail(`expected ${tokens}×${E} slots, got ${gpu.experts.length}`);
  }
  const taken = new Int32Array(E);
  // Per expert: differing tokens exactly at the threshold (float64) and near it.
  const exactTies = new Int32Array(E), nearTies = new Int32Array(E);
  for (let t = 0; t < tokens; t++) {
    for (let e = 0; e < E; e++) {
      const s = t * E + e, a = gpu.experts[s], b = reference.routing.experts[s];
      if (a !== -1 && a !== e) return fail(`slot ${s}: expert ${a} in expert ${e}'s slot`);
      if (a === e) taken[e]++;
      if (a !== b) {
        const lp = reference.logProbabilities[s], thr = reference.thresholds[e];
        if (Math.abs(lp - thr) > NEAR_TIE * Math.max(1, Math.abs(thr))) {
          return fail(
            `token ${t}: expert ${e} ${
              a === e ? "takes" : "leaves"
            } it on the GPU, not in the reference (log-probability ${
              lp.toPrecision(8)
            }, threshold ${thr.toPrecision(8)}: not a near-tie)`,
          );
        }
        if (lp === thr) exactTies[e]++;
        else nearTies[e]++;
        near.add(t);
        continue;
      }
      if (a === e) {
        const err = Math.abs(gpu.weights[s] - reference.routing.weights[s]);
        if (!(err <= maxWeightError)) maxWeightError = Number.isNaN(err) ? Infinity : err;
      } else if (gpu.weights[s] !== 0) {
        return fail(`slot ${s}: empty but weighted ${gpu.weights[s]}`);
      }
    }
  }
  for (let e = 0; e < E; e++) {
    // Tokens exactly at the threshold (equal inputs) must go in token order; only a near-tie
    // that moved the count may shift which of them are taken.
    if (exactTies[e] > 0 && nearTies[e] === 0) {
      return fail(
        `expert ${e}: ${exactTies[e]} token(s) exactly at its threshold taken out of token order`,
      );
    }
  }
  const counts = new Int32Array(E);
  for (const e of reference.routing.experts) if (e >= 0) counts[e]++;
  for (let e = 0; e < E; e++) {
    if (taken[e] !== counts[e]) {
      return fail(`expert ${e} takes ${taken[e]} tokens on the GPU, ${counts[e]} in the reference`);
    }
  }
  if (maxWeightError > GATE_WEIGHT_TOLERANCE) {
    return fail(
      `slot weights differ from the reference by up to ${maxWeightError.toExponential(2)}`,
    );
  }
  return { nearTies: near.size, maxWeightError, problem: null };
}
