// The family's plain CPU reference (the MoE layer in float64, expert by expert, token by token),
// the routing figures every cell reports, and the correctness gate.
import type { Routing } from "./_interface.ts";
import type { MoeLayer } from "./_layer.ts";

/**
 * Tolerance of the timed layer against {@link moeLayerReference}: |y − ref| ≤ atol + rtol·|ref|
 * elementwise. The timed path sums in float32 through the WebAssembly GEMM (k = 64 and 32 here);
 * 1e-4 relative is ~1,000 float32 ulps, far below any routing or weighting error.
 */
export const MOE_TOLERANCE = { atol: 1e-5, rtol: 1e-4 } as const;
export const MOE_TOLERANCE_TEXT = "|y − ref| ≤ 1e-5 + 1e-4·|ref| elementwise (float64 reference)";

/**
 * The layer's output for a routing, computed plainly in float64: for each token, the residual
 * plus each non-empty slot's weight times its expert's FFN (dim → hidden, ReLU, → dim).
 */
export function moeLayerReference(
  layer: MoeLayer,
  h: Float32Array,
  routing: Routing,
): Float64Array {
  const { dim, hidden } = layer.shape, { tokens, k } = routing;
  const y = Float64Array.from(h.subarray(0, tokens * dim));
  const a = new Float64Array(hidden);
  for (let t = 0; t < tokens; t++) {
    for (let s = 0; s < k; s++) {
      const e = routing.experts[t * k + s];
      if (e < 0) continue;
      const w = routing.weights[t * k + s], { fc1, fc2 } = layer.experts[e];
      const w1 = fc1.weight.data, b1 = fc1.bias!.data, w2 = fc2.weight.data, b2 = fc2.bias!.data;
      for (let i = 0; i < hidden; i++) {
        let sum = b1[i];
        for (let j = 0; j < dim; j++) sum += w1[i * dim + j] * h[t * dim + j];
        a[i] = sum > 0 ? sum : 0;
      }
      for (let j = 0; j < dim; j++) {
        let sum = b2[j];
        for (let i = 0; i < hidden; i++) sum += w2[j * hidden + i] * a[i];
        y[t * dim + j] += w * sum;
      }
    }
  }
  return y;
}

/**
 * Whether a routing is well formed: each slot's expert in [0, experts) or −1, experts distinct
 * within a token, weights finite and ≥ 0, empty slots weighted 0.
 *
 * @returns null when it is, else what is wrong (the first problem)
 */
export function routingProblem(routing: Routing, experts: number): string | null {
  const { tokens, k } = routing;
  if (routing.experts.length !== tokens * k || routing.weights.length !== tokens * k) {
    return `expected ${tokens}×${k} slots, got ${routing.experts.length} experts and ${routing.weights.length} weights`;
  }
  for (let t = 0; t < tokens; t++) {
    const seen = new Set<number>();
    for (let s = 0; s < k; s++) {
      const e = routing.experts[t * k + s], w = routing.weights[t * k + s];
      if (!Number.isInteger(e) || e < -1 || e >= experts) {
        return `token ${t} slot ${s}: expert ${e} is outside [-1, ${experts})`;
      }
      if (!Number.isFinite(w) || w < 0) {
        return `token ${t} slot ${s}: weight ${w} is not finite ≥ 0`;
      }
      if (e === -1 && w !== 0) return `token ${t} slot ${s}: an empty slot has weight ${w}`;
      if (e >= 0 && seen.has(e)) return `token ${t}: expert ${e} appears twice`;
      seen.add(e);
    }
  }
  if (!Number.isFinite(routing.auxLoss)) return `auxiliary loss ${routing.auxLoss} is not finite`;
  return null;
}

/** The largest |y − ref| and whether every element is within {@link MOE_TOLERANCE}. */
export function compareWithReference(
  y: Float32Array,
  ref: Float64Array,
): { passed: boolean; maxAbsError: number } {
  let passed = y.length === ref.length, max = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(y[i] - ref[i]);
    if (!(err <= MOE_TOLERANCE.atol + MOE_TOLERANCE.rtol * Math.abs(ref[i]))) passed = false;
    if (!(err <= max)) max = Number.isNaN(err) ? Infinity : err;
  }
  return { passed, maxAbsError: max };
}

/** Per-expert loads and router entropy accumulated over many batches of routings. */
export class RoutingTally {
  readonly experts: number;
  /** Slots routed to each expert. */
  readonly load: Float64Array;
  tokens = 0;
  /** Tokens with no non-empty slot. */
  dropped = 0;
  /** Non-empty slots. */
  slots = 0;
  #entropy = 0;
  #entropyTokens = 0;

  constructor(experts: number) {
    this.experts = experts;
    this.load = new Float64Array(experts);
  }

  add(routing: Routing): void {
    const { tokens, k } = routing, E = this.experts;
    for (let t = 0; t < tokens; t++) {
      let any = false;
      for (let s = 0; s < k; s++) {
        const e = routing.experts[t * k + s];
        if (e >= 0) {
          this.load[e]++;
          this.slots++;
          any = true;
        }
      }
      if (!any) this.dropped++;
    }
    this.tokens += tokens;
    const p = routing.probabilities;
    if (p && E > 1) {
      for (let t = 0; t < tokens; t++) {
        let h = 0;
        for (let e = 0; e < E; e++) {
          const q = p[t * E + e];
          if (q > 0) h -= q * Math.log(q);
        }
        this.#entropy += h / Math.log(E);
        this.#entropyTokens++;
      }
    }
  }

  /**
   * The routing figures: `load_cv` (std/mean of slots per expert), `max_vio` (max/mean load),
   * `dropped_share` (tokens reaching no expert), `dead_experts` (experts with no token),
   * `active_experts` (mean non-empty slots per token) and, where the gate has a router,
   * `router_entropy` (mean per-token entropy of its distribution / ln E, in [0, 1]).
   */
  figures(): Record<string, number> {
    const E = this.experts, mean = this.slots / E;
    let sq = 0, max = 0, dead = 0;
    for (const l of this.load) {
      sq += (l - mean) ** 2;
      max = Math.max(max, l);
      if (l === 0) dead++;
    }
    const out: Record<string, number> = {
      load_cv: mean > 0 ? Math.sqrt(sq / E) / mean : 0,
      max_vio: mean > 0 ? max / mean : 0,
      dropped_share: this.tokens > 0 ? this.dropped / this.tokens : 0,
      dead_experts: dead,
      active_experts: this.tokens > 0 ? this.slots / this.tokens : 0,
    };
    if (this.#entropyTokens > 0) out.router_entropy = this.#entropy / this.#entropyTokens;
    return out;
  }
}

/** Multiply-adds of the float64 reference a check may spend on one batch: past it, rows sample. */
export const REFERENCE_MAC_BUDGET = 2 ** 26;

/**
 * The tokens a check compares: every one where the reference costs at most
 * {@link REFERENCE_MAC_BUDGET} multiply-adds, else evenly spaced ones (the first and the last
 * among them) within it, so a 64k-token dense mixture is checked in seconds, not minutes.
 *
 * @param tokens tokens in the batch
 * @param macsPerToken the reference's multiply-adds per token (slots × 2·dim·hidden)
 */
export function checkedTokens(tokens: number, macsPerToken: number): number[] {
  const n = Math.max(2, Math.floor(REFERENCE_MAC_BUDGET / Math.max(1, macsPerToken)));
  if (tokens <= n) return Array.from({ length: tokens }, (_, t) => t);
  return Array.from({ length: n }, (_, i) => Math.round(i * (tokens - 1) / (n - 1)));
}

/** The rows `picked` of a batch: its inputs [n × dim], routing, and an output's rows. */
export function pickTokens(
  picked: readonly number[],
  batch: { h: Float32Array; y: Float32Array; routing: Routing; dim: number },
): { h: Float32Array; y: Float32Array; routing: Routing } {
  const { dim, routing } = batch, k = routing.k, n = picked.length;
  const h = new Float32Array(n * dim), y = new Float32Array(n * dim);
  const experts = new Int32Array(n * k), weights = new Float32Array(n * k);
  picked.forEach((t, i) => {
    h.set(batch.h.subarray(t * dim, t * dim + dim), i * dim);
    y.set(batch.y.subarray(t * dim, t * dim + dim), i * dim);
    experts.set(routing.experts.subarray(t * k, t * k + k), i * k);
    weights.set(routing.weights.subarray(t * k, t * k + k), i * k);
  });
  return {
    h,
    y,
    routing: { tokens: n, k, experts, weights, auxLoss: routing.auxLoss, probabilities: null },
  };
}
