// SeerAttention's learned block gate on the CPU: block pooling of q and k, the gate's scores in
// float32 (in the WGSL kernel's order of operations), and its deterministic distillation from
// the oracle gate (block max-pooled true attention) on held-out calibration inputs. The GPU
// method's setup and the CPU reference share one trained gate per calibration set.
import { hashString, mulberry32, normal } from "../../bench/random.ts";
import {
  type AttentionInputs,
  type AttentionShape,
  type BlockGeometry,
  blockGeometry,
  blockMaxAttention,
  queryCount,
} from "../../bench/families/attention/mod.ts";

/** What the gate is and how it is trained. */
export interface GateConfig {
  /** Keys (and query rows) per block. */
  blockSize: number;
  /** Width of the projections both pooled q and pooled k are mapped to. */
  gateDim: number;
  /** Full-batch Adam steps. */
  trainSteps: number;
  /** Query blocks sampled per head and calibration input (their oracle gates are the targets). */
  trainBlocks: number;
}

/** One head's gate: pooled q (d) → gateDim, pooled k (3d: max, min, mean) → gateDim. */
export interface GateWeights {
  /** d × gateDim, row-major. */
  wq: Float32Array;
  /** 3d × gateDim, row-major: rows 0..d-1 act on the max pool, d..2d-1 on min, 2d..3d-1 on mean. */
  wk: Float32Array;
}

/** Block-pooled q and k of one head, in float32. */
export interface PooledHead {
  /** queryBlocks × d: mean of the block's query rows. */
  q: Float32Array;
  /** blocks × 3d: element-wise max, min and mean of the block's keys. */
  k: Float32Array;
  /** Like q and k with every pooled element |x| (float64): bounds on their rounding error. */
  qAbs: Float64Array;
  kAbs: Float64Array;
}

const ADAM = { lr: 0.02, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Pools one head in float32, summing in ascending order and dividing once, as the kernel does. */
export function poolHead(
  shape: AttentionShape,
  inputs: AttentionInputs,
  block: number,
  head: number,
): PooledHead {
  const f = Math.fround;
  const { seq, headDim: d } = shape;
  const queries = queryCount(shape);
  const geometry = blockGeometry(shape, block);
  const q = new Float32Array(geometry.queryBlocks * d);
  const qAbs = new Float64Array(q.length);
  for (let qb = 0; qb < geometry.queryBlocks; qb++) {
    const first = qb * block;
    const last = Math.min(first + block, queries);
    for (let i = 0; i < d; i++) {
      let sum = 0;
      let abs = 0;
      for (let r = first; r < last; r++) {
        const x = inputs.q[(head * queries + r) * d + i];
        sum = f(sum + x);
        abs += Math.abs(x);
      }
      q[qb * d + i] = f(sum / (last - first));
      qAbs[qb * d + i] = abs / (last - first);
    }
  }
  const k = new Float32Array(geometry.blocks * 3 * d);
  const kAbs = new Float64Array(k.length);
  const base = head * seq * d;
  for (let kb = 0; kb < geometry.blocks; kb++) {
    const first = kb * block;
    const last = Math.min(first + block, seq);
    for (let i = 0; i < d; i++) {
      let hi = inputs.k[base + first * d + i];
      let lo = hi;
      let sum = 0;
      let abs = 0;
      for (let j = first; j < last; j++) {
        const x = inputs.k[base + j * d + i];
        hi = Math.max(hi, x);
        lo = Math.min(lo, x);
        sum = f(sum + x);
        abs += Math.abs(x);
      }
      const at = kb * 3 * d + i;
      k[at] = hi;
      k[at + d] = lo;
      k[at + 2 * d] = f(sum / (last - first));
      kAbs[at] = Math.abs(hi);
      kAbs[at + d] = Math.abs(lo);
      kAbs[at + 2 * d] = abs / (last - first);
    }
  }
  return { q, k, qAbs, kAbs };
}

/** x (n inputs) times w (n × m) in float32, each output summed over ascending inputs. */
export function project(
  x: ArrayLike<number>,
  w: Float32Array,
  n: number,
  m: number,
): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(m);
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    for (let j = 0; j < m; j++) out[j] = f(out[j] + f(xi * w[i * m + j]));
  }
  return out;
}

/** |x| times |w| (n × m) in float64: a bound on the terms of each output of {@link project}. */
function projectAbs(x: Float64Array, w: Float32Array, n: number, m: number): Float64Array {
  const out = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) out[j] += x[i] * Math.abs(w[i * m + j]);
  }
  return out;
}

/** 1/√gateDim as the float32 constant the kernel multiplies by. */
export function gateScale(gateDim: number): number {
  return Math.fround(1 / Math.sqrt(gateDim));
}

/**
 * The gate's scores of one head in float32, per query block and visible key block: the dot of
 * the projected pooled q and pooled k, times 1/√gateDim. (The gate's softmax is monotone, so
 * ranking by these logits chooses the same blocks.) Also each score's magnitude: the score
 * with every pooled element, weight and product taken in absolute value, which bounds how far
 * rounding in another order (or fused multiply-adds) can move it, relative to float32 epsilon.
 */
export function gateScores(
  shape: AttentionShape,
  gate: { pooled: PooledHead; weights: GateWeights; geometry: BlockGeometry; gateDim: number },
): { scores: Float64Array[]; magnitude: Float64Array[] } {
  const { pooled, weights, geometry, gateDim } = gate;
  const f = Math.fround;
  const d = shape.headDim;
  const scale = gateScale(gateDim);
  const keyRange = (kb: number) => [kb * 3 * d, (kb + 1) * 3 * d];
  const kp = Array.from(
    { length: geometry.blocks },
    (_, kb) => project(pooled.k.subarray(...keyRange(kb)), weights.wk, 3 * d, gateDim),
  );
  const kpAbs = Array.from(
    { length: geometry.blocks },
    (_, kb) => projectAbs(pooled.kAbs.subarray(...keyRange(kb)), weights.wk, 3 * d, gateDim),
  );
  const scores: Float64Array[] = [];
  const magnitude: Float64Array[] = [];
  for (let qb = 0; qb < geometry.queryBlocks; qb++) {
    const qp = project(pooled.q.subarray(qb * d, (qb + 1) * d), weights.wq, d, gateDim);
    const qpAbs = projectAbs(pooled.qAbs.subarray(qb * d, (qb + 1) * d), weights.wq, d, gateDim);
    const row = new Float64Array(geometry.visible(qb));
    const mag = new Float64Array(row.length);
    for (let kb = 0; kb < row.length; kb++) {
      let dot = 0;
      let abs = 0;
      for (let j = 0; j < gateDim; j++) {
        dot = f(dot + f(qp[j] * kp[kb][j]));
        abs += qpAbs[j] * kpAbs[kb][j];
      }
      row[kb] = f(dot * scale);
      mag[kb] = abs * scale;
    }
    scores.push(row);
    magnitude.push(mag);
  }
  return { scores, magnitude };
}

/** Training data of one head: sampled query blocks and their oracle block distributions. */
interface Sample {
  qb: number;
  /** The oracle's block max-pooled attention over the visible blocks, normalised to sum 1. */
  target: Float64Array;
}

/**
 * A seeded sample of up to `trainBlocks` query blocks that see more than one key block (with
 * one there is nothing to choose), ascending, and their distillation targets: the oracle gate
 * normalised per query block. Each calibration input (`input`, its index) draws its own blocks.
 */
export function trainingSamples(
  shape: AttentionShape,
  inputs: AttentionInputs,
  config: GateConfig,
  at: { head: number; input: number },
): Sample[] {
  const { head } = at;
  const geometry = blockGeometry(shape, config.blockSize);
  const candidates = Array.from({ length: geometry.queryBlocks }, (_, qb) => qb)
    .filter((qb) => geometry.visible(qb) > 1);
  const uniform = mulberry32(hashString(`seer-learned-attention|${head}|${at.input}`));
  // Partial Fisher–Yates: the first trainBlocks of a seeded shuffle.
  const n = Math.min(config.trainBlocks, candidates.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(uniform() * (candidates.length - i));
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  return candidates.slice(0, n).sort((a, b) => a - b).map((qb) => {
    const gates = blockMaxAttention(shape, inputs, { block: config.blockSize, head, qb });
    const total = gates.reduce((a, b) => a + b, 0);
    return { qb, target: gates.map((g) => g / total) };
  });
}

/** Plain Adam over one flat float64 parameter vector. */
function adamStep(
  w: Float64Array,
  grad: Float64Array,
  state: { m: Float64Array; v: Float64Array; t: number },
): void {
  const { m, v, t } = state;
  const c1 = 1 - ADAM.beta1 ** t;
  const c2 = 1 - ADAM.beta2 ** t;
  for (let i = 0; i < w.length; i++) {
    m[i] = ADAM.beta1 * m[i] + (1 - ADAM.beta1) * grad[i];
    v[i] = ADAM.beta2 * v[i] + (1 - ADAM.beta2) * grad[i] * grad[i];
    w[i] -= (ADAM.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + ADAM.eps);
  }
}

/** One calibration input's training data for one head: its pooled q and k and its samples. */
interface HeadData {
  pooled: PooledHead;
  samples: Sample[];
}

/**
 * Distils one head's gate on calibration inputs: minimises the mean over every input's sampled
 * query blocks of KL(target ‖ softmax(gate logits over the visible key blocks)) with full-batch
 * Adam, in float64, from a seeded initialisation, in a fixed order, so every run gives the same
 * weights.
 *
 * @param inputs the calibration inputs (held out from any input the gate is evaluated on)
 * @returns the weights rounded to float32, and the final mean KL (nats)
 */
export function trainGate(
  shape: AttentionShape,
  inputs: readonly AttentionInputs[],
  config: GateConfig,
  head: number,
): { weights: GateWeights; loss: number } {
  const d = shape.headDim;
  const dg = config.gateDim;
  const data: HeadData[] = inputs.map((x, input) => ({
    pooled: poolHead(shape, x, config.blockSize, head),
    samples: trainingSamples(shape, x, config, { head, input }),
  }));
  const sampleCount = data.reduce((n, x) => n + x.samples.length, 0);
  const gauss = normal(mulberry32(hashString(`seer-learned-attention-init|${head}`)));
  const wq = Float64Array.from({ length: d * dg }, () => gauss() / Math.sqrt(d));
  const wk = Float64Array.from({ length: 3 * d * dg }, () => gauss() / Math.sqrt(3 * d));
  const state = [wq, wk].map((w) => ({
    m: new Float64Array(w.length),
    v: new Float64Array(w.length),
  }));
  // Only key blocks some sample sees take part.
  const blocks = data.map(({ samples }) =>
    samples.reduce((n, s) => Math.max(n, s.target.length), 0)
  );
  const kp = data.map((_, i) => new Float64Array(blocks[i] * dg));
  const dkp = data.map((_, i) => new Float64Array(blocks[i] * dg));
  const qp = new Float64Array(dg);
  const dqp = new Float64Array(dg);
  const gq = new Float64Array(wq.length);
  const gk = new Float64Array(wk.length);
  const scale = 1 / Math.sqrt(dg);
  let loss = 0;
  for (let t = 1; t <= config.trainSteps; t++) {
    gq.fill(0);
    gk.fill(0);
    loss = 0;
    data.forEach(({ pooled, samples }, n) => {
      const kpn = kp[n];
      const dkpn = dkp[n];
      kpn.fill(0);
      for (let kb = 0; kb < blocks[n]; kb++) {
        for (let i = 0; i < 3 * d; i++) {
          const x = pooled.k[kb * 3 * d + i];
          for (let j = 0; j < dg; j++) kpn[kb * dg + j] += x * wk[i * dg + j];
        }
      }
      dkpn.fill(0);
      for (const { qb, target } of samples) {
        qp.fill(0);
        for (let i = 0; i < d; i++) {
          const x = pooled.q[qb * d + i];
          for (let j = 0; j < dg; j++) qp[j] += x * wq[i * dg + j];
        }
        const logits = new Float64Array(target.length);
        let max = -Infinity;
        for (let kb = 0; kb < logits.length; kb++) {
          let dot = 0;
          for (let j = 0; j < dg; j++) dot += qp[j] * kpn[kb * dg + j];
          logits[kb] = dot * scale;
          max = Math.max(max, logits[kb]);
        }
        let sum = 0;
        for (let kb = 0; kb < logits.length; kb++) sum += Math.exp(logits[kb] - max);
        const logSum = max + Math.log(sum);
        dqp.fill(0);
        for (let kb = 0; kb < logits.length; kb++) {
          const logP = logits[kb] - logSum;
          if (target[kb] > 0) loss += target[kb] * (Math.log(target[kb]) - logP);
          // d KL / d logit = p − target, averaged over samples, through the 1/√gateDim scale.
          const g = ((Math.exp(logP) - target[kb]) * scale) / sampleCount;
          for (let j = 0; j < dg; j++) {
            dqp[j] += g * kpn[kb * dg + j];
            dkpn[kb * dg + j] += g * qp[j];
          }
        }
        for (let i = 0; i < d; i++) {
          const x = pooled.q[qb * d + i];
          for (let j = 0; j < dg; j++) gq[i * dg + j] += x * dqp[j];
        }
      }
      for (let kb = 0; kb < blocks[n]; kb++) {
        for (let i = 0; i < 3 * d; i++) {
          const x = pooled.k[kb * 3 * d + i];
          for (let j = 0; j < dg; j++) gk[i * dg + j] += x * dkpn[kb * dg + j];
        }
      }
    });
    loss /= Math.max(1, sampleCount);
    adamStep(wq, gq, { ...state[0], t });
    adamStep(wk, gk, { ...state[1], t });
  }
  return { weights: { wq: Float32Array.from(wq), wk: Float32Array.from(wk) }, loss };
}

/** Trains every head's gate (heads of all folded steps alike) on the calibration inputs. */
export function trainGates(
  shape: AttentionShape,
  inputs: readonly AttentionInputs[],
  config: GateConfig,
): { weights: GateWeights[]; loss: number[] } {
  const trained = Array.from(
    { length: shape.heads },
    (_, h) => trainGate(shape, inputs, config, h),
  );
  return { weights: trained.map((t) => t.weights), loss: trained.map((t) => t.loss) };
}
