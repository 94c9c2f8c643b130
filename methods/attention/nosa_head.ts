// NOSA's trained query-agnostic eviction head, fitted offline on held-out inputs of the same
// model: per head, a linear scorer over each key slot's features [k_j, v_j, 1] (the paper's head
// reads the value, A·softplus(v_j·δ); softplus is monotone, so ranking by v_j·δ ranks alike, and
// the key is added because the synthetic heads mark their sinks in the key). Its target is the
// log of the attention mass slot j receives: the mean softmax probability over the (sampled)
// later query rows that can see it. Closed-form ridge least squares in float64: deterministic.
import {
  type AttentionInputs,
  type AttentionProblem,
  type AttentionShape,
  fitHeadsOnHeldOut,
  type FittedHeads,
  MASKS_PARAMS,
  type SlotFeatures,
} from "../../bench/families/attention/mod.ts";

/**
 * Per head, weights over [k (headDim), v (headDim)] and a bias: score = w·[k, v] + b; weights are
 * heads × (2 · headDim + 1) float32, per head wk, then wv, then the bias.
 */
export type EvictionHead = FittedHeads;

/** NOSA's head's features of slot j of head h: [k_j, v_j, 1]. */
function keyValueFeatures(shape: AttentionShape, h: number): SlotFeatures {
  const { seq, headDim: d } = shape;
  return (inputs, j, x) => {
    for (let i = 0; i < d; i++) {
      x[i] = inputs.k[(h * seq + j) * d + i];
      x[d + i] = inputs.v[(h * seq + j) * d + i];
    }
    x[2 * d] = 1;
  };
}

/**
 * The head trained on the problem's held-out inputs (the family refuses a set holding the
 * evaluated input), once per calibration set and shape; its wall time is `calibration_ms`.
 */
export function evictionHead<I, V>(
  problem: AttentionProblem<I, V>,
  method: string,
): EvictionHead {
  const { shape } = problem;
  return fitHeadsOnHeldOut(problem, {
    kind: "nosa-eviction-head [k, v, 1]",
    method,
    n: 2 * shape.headDim + 1,
    features: (h) => keyValueFeatures(shape, h),
  });
}

/**
 * The head's score of every key slot of one head, in float32 as the kernel computes it: 4 lanes
 * of w_k·k, then the same lanes of w_v·v, then the lanes summed and the bias added.
 */
export function headScores(
  shape: AttentionShape,
  inputs: AttentionInputs,
  at: { weights: Float32Array; head: number },
): { scores: Float32Array; magnitude: Float32Array } {
  const { seq, headDim: d } = shape;
  const f = Math.fround;
  const base = at.head * (2 * d + 1);
  const w = at.weights;
  const scores = new Float32Array(seq);
  const magnitude = new Float32Array(seq);
  for (let j = 0; j < seq; j++) {
    const lanes = [0, 0, 0, 0];
    let size = 0;
    for (let i = 0; i < d; i++) {
      const kx = inputs.k[(at.head * seq + j) * d + i];
      lanes[i % 4] = f(lanes[i % 4] + f(w[base + i] * kx));
      size += Math.abs(w[base + i] * kx);
    }
    for (let i = 0; i < d; i++) {
      const vx = inputs.v[(at.head * seq + j) * d + i];
      lanes[i % 4] = f(lanes[i % 4] + f(w[base + d + i] * vx));
      size += Math.abs(w[base + d + i] * vx);
    }
    scores[j] = f(f(f(f(lanes[0] + lanes[1]) + lanes[2]) + lanes[3]) + w[base + 2 * d]);
    magnitude[j] = size + Math.abs(w[base + 2 * d]);
  }
  return { scores, magnitude };
}

/** Per (key, head): the eviction head's score w_k·k_j + w_v·v_j + b, as headScores computes it. */
export function headScoreWgsl(headDim: number, workgroup: number): string {
  const n = 2 * headDim + 1;
  return MASKS_PARAMS + /* wgsl */ `
const D: u32 = ${headDim}u;
const D4: u32 = ${headDim / 4}u;
const N: u32 = ${n}u;
@group(0) @binding(0) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn weights4(at: u32) -> vec4<f32> {
  return vec4<f32>(w[at], w[at + 1u], w[at + 2u], w[at + 3u]);
}

@compute @workgroup_size(${workgroup})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let head = gid.y;
  if (j >= p.seq) { return; }
  let base = (head * p.seq + j) * D4;
  let wb = head * N;
  var s4 = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) { s4 += weights4(wb + 4u * i) * k[base + i]; }
  for (var i = 0u; i < D4; i++) { s4 += weights4(wb + D + 4u * i) * v[base + i]; }
  scores[head * p.seq + j] = s4.x + s4.y + s4.z + s4.w + w[wb + 2u * D];
}`;
}
