// The routing-recovery data: a seeded mixture of linear regressions over a known partition of the
// input space, so a learned routing can be scored against the partition that generated the targets.
// Two partitions, so no gate family is handed its own structure: `sign` (the sign patterns of 3
// hyperplanes: a 3-bit code, the shape of DSelect-k's and COMET's binary decisions, though a linear
// argmax router represents it exactly too) and `voronoi` (the nearest of 8 centres: the shape of a
// softmax router's argmax, which binary splits only approximate).
import { mulberry32, normal } from "../../bench/random.ts";

/** The generator's fixed seed; each split draws from its own stream derived from it. */
export const ROUTING_RECOVERY_SEED = 20251202;

/** Shape of the problem: input features, the partition's splitting directions and the noise. */
export const ROUTING_RECOVERY_SHAPE = {
  /** Input features per point (x ~ N(0, I)). */
  inputs: 8,
  /** Orthonormal directions whose signs define the regions: 2^3 = 8 regions of equal mass. */
  directions: 3,
  /** Standard deviation of the targets' Gaussian noise (the error floor is its square, 0.01). */
  noise: 0.1,
} as const;

/** Points of each split: the gates train on `train`, pick nothing on `validation`, are scored on `test`. */
export const ROUTING_RECOVERY_SPLITS = { train: 16384, validation: 2048, test: 4096 } as const;
export type RoutingRecoverySplit = keyof typeof ROUTING_RECOVERY_SPLITS;

/** How the input space is partitioned into the 8 regions. */
export const ROUTING_RECOVERY_PARTITIONS = ["sign", "voronoi"] as const;
export type RoutingRecoveryPartition = (typeof ROUTING_RECOVERY_PARTITIONS)[number];

/** One split: inputs, targets and the true region of every point. */
export interface RoutingRecoverySet {
  split: RoutingRecoverySplit;
  partition: RoutingRecoveryPartition;
  count: number;
  inputs: number;
  /** Row-major [count × inputs]. */
  x: Float32Array;
  /** The regression target of each point. */
  y: Float32Array;
  /** The region (0 … 2^directions − 1) each point lies in: never an input feature. */
  region: Int32Array;
}

/** The hidden truth every split shares: the splitting directions and each region's regression. */
export interface RoutingRecoveryTruth {
  partition: RoutingRecoveryPartition;
  /** `sign`: orthonormal rows [directions × inputs]; `voronoi`: the centres [regions × inputs]. */
  directions: Float64Array;
  /** Each region's coefficients [regions × inputs]. */
  slopes: Float64Array;
  /** Each region's intercept. */
  intercepts: Float64Array;
}

const STREAMS: Record<RoutingRecoverySplit | "truth" | "voronoi", number> = {
  truth: 0x7275,
  voronoi: 0x766f,
  train: 0x7472,
  validation: 0x7661,
  test: 0x7465,
};

/**
 * The partition and the regressions. `sign`: `directions` Gaussian vectors made orthonormal by
 * Gram–Schmidt (so the 2^directions sign patterns split N(0, I) into regions of equal mass, and no
 * input coordinate is a region bit). `voronoi`: 2^directions centres ~ N(0, I), each point's region
 * its nearest centre (unequal masses). Then each region's slopes ~ N(0, 1/inputs) and intercept
 * ~ N(0, 1), from the same stream.
 */
export function routingRecoveryTruth(
  partition: RoutingRecoveryPartition = "sign",
): RoutingRecoveryTruth {
  const { inputs, directions: m } = ROUTING_RECOVERY_SHAPE;
  const regions = 2 ** m;
  const g = normal(
    mulberry32(ROUTING_RECOVERY_SEED ^ (partition === "sign" ? STREAMS.truth : STREAMS.voronoi)),
  );
  if (partition === "voronoi") {
    const centres = Float64Array.from({ length: regions * inputs }, () => g());
    return { partition, directions: centres, ...regressions(g) };
  }
  const directions = new Float64Array(m * inputs);
  for (let j = 0; j < m; j++) {
    const v = directions.subarray(j * inputs, (j + 1) * inputs);
    for (let i = 0; i < inputs; i++) v[i] = g();
    for (let q = 0; q < j; q++) {
      const u = directions.subarray(q * inputs, (q + 1) * inputs);
      let dot = 0;
      for (let i = 0; i < inputs; i++) dot += u[i] * v[i];
      for (let i = 0; i < inputs; i++) v[i] -= dot * u[i];
    }
    const norm = Math.hypot(...v);
    for (let i = 0; i < inputs; i++) v[i] /= norm;
  }
  return { partition, directions, ...regressions(g) };
}

/** Each region's slopes ~ N(0, 1/inputs) and intercept ~ N(0, 1). */
function regressions(g: () => number): { slopes: Float64Array; intercepts: Float64Array } {
  const { inputs, directions: m } = ROUTING_RECOVERY_SHAPE;
  const regions = 2 ** m;
  const slopes = new Float64Array(regions * inputs), intercepts = new Float64Array(regions);
  for (let r = 0; r < regions; r++) {
    for (let i = 0; i < inputs; i++) slopes[r * inputs + i] = g() / Math.sqrt(inputs);
    intercepts[r] = g();
  }
  return { slopes, intercepts };
}

/**
 * The region of a point: `sign`, bit j set where its projection on direction j is positive;
 * `voronoi`, its nearest centre (the lower index on a tie).
 */
export function regionOf(truth: RoutingRecoveryTruth, x: ArrayLike<number>, offset = 0): number {
  const { inputs, directions: m } = ROUTING_RECOVERY_SHAPE;
  if (truth.partition === "voronoi") {
    let best = 0, nearest = Infinity;
    for (let r = 0; r < 2 ** m; r++) {
      let d2 = 0;
      for (let i = 0; i < inputs; i++) {
        d2 += (x[offset + i] - truth.directions[r * inputs + i]) ** 2;
      }
      if (d2 < nearest) {
        nearest = d2;
        best = r;
      }
    }
    return best;
  }
  let region = 0;
  for (let j = 0; j < m; j++) {
    let dot = 0;
    for (let i = 0; i < inputs; i++) dot += truth.directions[j * inputs + i] * x[offset + i];
    if (dot > 0) region |= 1 << j;
  }
  return region;
}

/**
 * One split, drawn from its own seeded stream (the same inputs under either partition): x ~ N(0, I), y = slopes[r]·x + intercepts[r] + ε
 * with r = x's region and ε ~ N(0, noise²).
 */
export function generateRoutingRecovery(
  split: RoutingRecoverySplit,
  partition: RoutingRecoveryPartition = "sign",
): RoutingRecoverySet {
  const { inputs, noise } = ROUTING_RECOVERY_SHAPE;
  const truth = routingRecoveryTruth(partition), count = ROUTING_RECOVERY_SPLITS[split];
  const g = normal(mulberry32(ROUTING_RECOVERY_SEED ^ STREAMS[split]));
  const x = new Float32Array(count * inputs), y = new Float32Array(count);
  const region = new Int32Array(count);
  for (let p = 0; p < count; p++) {
    for (let i = 0; i < inputs; i++) x[p * inputs + i] = g();
    const r = region[p] = regionOf(truth, x, p * inputs);
    let target = truth.intercepts[r];
    for (let i = 0; i < inputs; i++) target += truth.slopes[r * inputs + i] * x[p * inputs + i];
    y[p] = target + noise * g();
  }
  return { split, partition, count, inputs, x, y, region };
}
