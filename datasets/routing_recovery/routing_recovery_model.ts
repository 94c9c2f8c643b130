// The routing-recovery model's shape, checkpoint names, token ids and evaluation, shared by the
// recipe (train_routing_recovery.ts) and the task, so both score a checkpoint the same way.
import {
  type MoeMethod,
  MoeMlp,
  type MoeModelShape,
  type Routing,
  routingProblem,
  RoutingTally,
} from "../../bench/families/moe/mod.ts";
import type { Method, ParamValues } from "../../bench/metadata.ts";
import { bootstrapInterval, mean } from "../../bench/stats.ts";
import { checkpointName } from "../mnist_moe/moe_model.ts";
import { adjustedRandIndex } from "./adjusted_rand_index.ts";
import {
  ROUTING_RECOVERY_SHAPE,
  type RoutingRecoveryPartition,
  type RoutingRecoverySet,
} from "./generator.ts";

/** 8 → 16 (ReLU) → MoE layer of E experts 16 → 16 → 16 with its residual → 1 (the prediction). */
export const ROUTING_RECOVERY_MODEL = {
  inputs: ROUTING_RECOVERY_SHAPE.inputs,
  dim: 16,
  hidden: 16,
  classes: 1,
} as const;

/** Points per evaluation batch (capacity and expert choice act within a batch). */
export const ROUTING_RECOVERY_EVAL_BATCH = 256;

/**
 * Checkpoints' name prefix: `routing-recovery-<gate>-e<E>[-<param><value>]` on the sign
 * partition, `routing-recovery-voronoi-…` on the voronoi one.
 */
export function routingRecoveryPrefix(partition: RoutingRecoveryPartition): string {
  return partition === "sign" ? "routing-recovery" : `routing-recovery-${partition}`;
}

/** A gate's seed, the same for every method (as the image tasks' GATE_SEED). */
export const ROUTING_RECOVERY_GATE_SEED = 0x9a7e;

/** The model's shape for a method at `experts` (the dense FFN has one wide expert). */
export function routingRecoveryShape(
  method: Method,
  experts: number,
  params: ParamValues,
): MoeModelShape {
  const base = ROUTING_RECOVERY_MODEL;
  const layout = (method.impl as MoeMethod).layout?.(experts, base.hidden, params) ??
    { experts, hidden: base.hidden };
  return { ...base, ...layout };
}

/** The checkpoint name of `method` trained with `params` at `experts`. */
export function routingRecoveryCheckpoint(
  method: Method,
  experts: number,
  params: ParamValues,
  partition: RoutingRecoveryPartition = "sign",
): string {
  return checkpointName(method, experts, params, routingRecoveryPrefix(partition));
}

/** A fresh, uninitialized model for `method` (its gate made by the method). */
export function createRoutingRecoveryModel(
  method: Method,
  experts: number,
  params: ParamValues,
): MoeMlp {
  const shape = routingRecoveryShape(method, experts, params);
  const gate = (method.impl as MoeMethod).createGate(
    { dim: shape.dim, experts: shape.experts },
    params,
    { seed: ROUTING_RECOVERY_GATE_SEED },
  );
  return new MoeMlp(shape, gate);
}

/** Each point's token id for hash routing: FNV-1a of its input's float32 bytes. */
export function pointIds(x: Float32Array, rows: number, features: number): Uint32Array {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, rows * features * 4);
  const ids = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    let h = 0x811c9dc5;
    for (let j = r * features * 4; j < (r + 1) * features * 4; j++) {
      h ^= bytes[j];
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    ids[r] = h;
  }
  return ids;
}

/**
 * The expert a routing sends token t to for the partition comparison: its slot of largest weight
 * (the first on a tie), −1 where no slot is filled.
 */
export function routedExpert(routing: Routing, t: number): number {
  let best = -1, weight = -Infinity;
  for (let s = 0; s < routing.k; s++) {
    const e = routing.experts[t * routing.k + s], w = routing.weights[t * routing.k + s];
    if (e >= 0 && w > weight) {
      best = e;
      weight = w;
    }
  }
  return best;
}

/** A model's outcomes on points [start, start + count) of a split. */
export interface RoutingRecoveryEvaluation {
  /** Squared error of each point's prediction. */
  squaredErrors: Float64Array;
  /** The expert each point was routed to ({@link routedExpert}). */
  routed: Int32Array;
  /** The true region of each point. */
  regions: Int32Array;
  tally: RoutingTally;
  /** The first malformed routing of any batch, or null. */
  problem: string | null;
}

/** Evaluates `model` in split order, `batch` points per forward (eval mode). */
export function evaluateRoutingRecovery(
  model: MoeMlp,
  set: RoutingRecoverySet,
  range: { start: number; count: number; batch?: number },
): RoutingRecoveryEvaluation {
  const { start, count } = range, batch = range.batch ?? ROUTING_RECOVERY_EVAL_BATCH;
  const d = set.inputs, E = model.shape.experts;
  const squaredErrors = new Float64Array(count), routed = new Int32Array(count);
  const tally = new RoutingTally(E);
  let problem: string | null = null;
  for (let s = start; s < start + count; s += batch) {
    const n = Math.min(batch, start + count - s);
    const x = set.x.subarray(s * d, (s + n) * d);
    const { logits } = model.forward(x, n, pointIds(x, n, d), "eval");
    const routing = model.lastRouting!;
    tally.add(routing);
    const p = routingProblem(routing, E);
    if (p && !problem) problem = `batch at point ${s}: ${p}`;
    for (let i = 0; i < n; i++) {
      squaredErrors[s - start + i] = (logits[i] - set.y[s + i]) ** 2;
      routed[s - start + i] = routedExpert(routing, i);
    }
  }
  return {
    squaredErrors,
    routed,
    regions: set.region.slice(start, start + count),
    tally,
    problem,
  };
}

/**
 * The task's figures of an evaluation: `ari` (the routing against the true regions) and `mse`,
 * each with its 95% bootstrap interval over the points (2,000 resamples, seeded), and the
 * routing figures.
 */
export function routingRecoveryFigures(e: RoutingRecoveryEvaluation): Record<string, number> {
  const errors = Array.from(e.squaredErrors);
  const [mseLow, mseHigh] = bootstrapInterval(errors, mean);
  const points = Array.from({ length: e.routed.length }, (_, i) => i);
  const ari = adjustedRandIndex(e.regions, e.routed);
  const [ariLow, ariHigh] = bootstrapInterval(
    points,
    (draw) => adjustedRandIndex(e.regions, e.routed, draw),
  );
  return {
    ari,
    ari_ci95_low: ariLow,
    ari_ci95_high: ariHigh,
    mse: mean(errors),
    mse_ci95_low: mseLow,
    mse_ci95_high: mseHigh,
    ...e.tally.figures(),
  };
}
