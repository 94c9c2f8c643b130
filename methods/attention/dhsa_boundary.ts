// DHSA's learned boundary predictor, in place of the cosine stand-in: per head, a logistic
// classifier over features of the keys around each position, fitted offline on held-out inputs
// of the same model to the positions where dense attention shifts between consecutive keys (the
// family's fitBoundariesOnHeldOut). The paper's predictor encodes a left and a right window of
// keys and fuses them as [l, r, l − r, l ⊙ r, similarity] into an MLP; here the windows are
// plain sums and the classifier is linear in [(l − r)², (k_t − k_{t−1})², cos(l, r),
// cos(k_t, k_{t−1}), 1] (squares per dimension, so it can weigh the dimensions queries read).
// Evaluated on the GPU each computation (one invocation per position and head), and on the CPU in
// the same float32 order for the reference.
import {
  type AttentionInputs,
  type AttentionProblem,
  type AttentionShape,
  fitBoundariesOnHeldOut,
  type FittedBoundaries,
  laneLoop,
} from "../../bench/families/attention/mod.ts";
import { DHSA_PARAMS } from "./dhsa_kernel.ts";

/** Keys in each of the two windows, before position t and from it. */
export const BOUNDARY_WINDOW = 4;

/** Features per position: (l − r)² and (k_t − k_{t−1})² per dimension, two cosines and a 1. */
export function boundaryFeatureCount(headDim: number): number {
  return 2 * headDim + 3;
}

const f = Math.fround;

/**
 * Every position's features of one head, in float32 in the kernel's order: l and r are the sums
 * of the (up to) BOUNDARY_WINDOW keys before t and from t on, added in key order; the cosines
 * add their products lane by lane (4 partial sums over the vec4 lanes, then summed), and are 0
 * where a norm is 0 (cos(k_t, k_{t−1}) at t = 0).
 *
 * @returns seq × n float32, row t position t's features
 */
export function boundaryFeatures(
  shape: AttentionShape,
  inputs: AttentionInputs,
  head: number,
): Float32Array {
  const { seq, headDim: d } = shape;
  const n = boundaryFeatureCount(d);
  const x = new Float32Array(seq * n);
  const base = head * seq * d;
  const k = inputs.k;
  const l = new Float32Array(d);
  const r = new Float32Array(d);
  const hsum = (a: Float32Array) => f(f(f(a[0] + a[1]) + a[2]) + a[3]);
  const cosine = (dot: number, aa: number, bb: number) => {
    const p = f(aa * bb);
    return p > 0 ? f(dot / f(Math.sqrt(p))) : 0;
  };
  for (let t = 0; t < seq; t++) {
    l.fill(0);
    r.fill(0);
    for (let j = t - Math.min(BOUNDARY_WINDOW, t); j < t; j++) {
      for (let i = 0; i < d; i++) l[i] = f(l[i] + k[base + j * d + i]);
    }
    for (let j = t; j < t + Math.min(BOUNDARY_WINDOW, seq - t); j++) {
      for (let i = 0; i < d; i++) r[i] = f(r[i] + k[base + j * d + i]);
    }
    const [lr, ll, rr, kk, pp, kp] = Array.from({ length: 6 }, () => new Float32Array(4));
    const prev = Math.max(t, 1) - 1;
    for (let i = 0; i < d; i++) {
      const c = i % 4;
      const df = f(l[i] - r[i]);
      const kt = k[base + t * d + i];
      const kq = k[base + prev * d + i];
      const step = f(kt - kq);
      x[t * n + i] = f(df * df);
      x[t * n + d + i] = f(step * step);
      lr[c] = f(lr[c] + f(l[i] * r[i]));
      ll[c] = f(ll[c] + f(l[i] * l[i]));
      rr[c] = f(rr[c] + f(r[i] * r[i]));
      kk[c] = f(kk[c] + f(kt * kt));
      pp[c] = f(pp[c] + f(kq * kq));
      kp[c] = f(kp[c] + f(kt * kq));
    }
    x[t * n + 2 * d] = cosine(hsum(lr), hsum(ll), hsum(rr));
    x[t * n + 2 * d + 1] = t === 0 ? 0 : cosine(hsum(kp), hsum(kk), hsum(pp));
    x[t * n + 2 * d + 2] = 1;
  }
  return x;
}

/**
 * One head's boundary logits w·x at every position, in the kernel's float32 order (4 lane sums
 * of the per-dimension terms, then the cosines' terms and the bias), and each logit's magnitude
 * Σ|w_a·x_a| (how far rounding can move it).
 */
export function boundaryLogits(
  shape: AttentionShape,
  inputs: AttentionInputs,
  at: { weights: Float32Array; head: number },
): { logits: Float32Array; magnitude: Float32Array } {
  const { seq, headDim: d } = shape;
  const n = boundaryFeatureCount(d);
  const x = boundaryFeatures(shape, inputs, at.head);
  const w = at.weights.subarray(at.head * n, (at.head + 1) * n);
  const logits = new Float32Array(seq);
  const magnitude = new Float32Array(seq);
  const lanes = new Float32Array(4);
  for (let t = 0; t < seq; t++) {
    const row = x.subarray(t * n, (t + 1) * n);
    lanes.fill(0);
    let size = 0;
    for (let i = 0; i < d; i++) {
      lanes[i % 4] = f(lanes[i % 4] + f(w[i] * row[i]));
      lanes[i % 4] = f(lanes[i % 4] + f(w[d + i] * row[d + i]));
      size += Math.abs(w[i] * row[i]) + Math.abs(w[d + i] * row[d + i]);
    }
    let logit = f(f(f(lanes[0] + lanes[1]) + lanes[2]) + lanes[3]);
    logit = f(logit + f(w[2 * d] * row[2 * d]));
    logit = f(logit + f(w[2 * d + 1] * row[2 * d + 1]));
    logits[t] = f(logit + w[2 * d + 2]);
    magnitude[t] = size + Math.abs(w[2 * d] * row[2 * d]) +
      Math.abs(w[2 * d + 1] * row[2 * d + 1]) +
      Math.abs(w[2 * d + 2]);
  }
  return { logits, magnitude };
}

/**
 * The predictor trained on the problem's held-out inputs (the family refuses a set holding the
 * evaluated input), once per calibration set and shape; its wall time is `calibration_ms`.
 */
export function boundaryPredictor<I, V>(
  problem: AttentionProblem<I, V>,
  method: string,
): FittedBoundaries {
  const { shape } = problem;
  return fitBoundariesOnHeldOut(problem, {
    kind: `dhsa-boundary [(l-r)², (k-k₋₁)², cos(l,r), cos(k,k₋₁), 1] window ${BOUNDARY_WINDOW}`,
    method,
    n: boundaryFeatureCount(shape.headDim),
    features: (inputs, head) => boundaryFeatures(shape, inputs, head),
  });
}

/**
 * Per (position, head): the boundary logit, as boundaryLogits computes it, for the chunking scan
 * to compare with the threshold's logit; written at the start of the buffer the scan reads them
 * from (its 1/√n table follows them).
 */
export function boundaryWgsl(headDim: number, workgroup: number): string {
  return DHSA_PARAMS + /* wgsl */ `
const D: u32 = ${headDim}u;
const D4: u32 = ${headDim / 4}u;
const N: u32 = ${boundaryFeatureCount(headDim)}u;
const W: u32 = ${BOUNDARY_WINDOW}u;
@group(0) @binding(0) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<uniform> p: Dhsa;

fn hsum(x: vec4<f32>) -> f32 { return ((x.x + x.y) + x.z) + x.w; }
fn weights4(at: u32) -> vec4<f32> { return vec4<f32>(w[at], w[at + 1u], w[at + 2u], w[at + 3u]); }
fn cosine(dot: f32, aa: f32, bb: f32) -> f32 {
  let prod = aa * bb;
  if (prod > 0.0) { return dot / sqrt(prod); }
  return 0.0;
}

@compute @workgroup_size(${workgroup})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let head = gid.y;
  if (t >= p.seq) { return; }
  let base = head * p.seq * D4;
  var l: array<vec4<f32>, D4>;
  var r: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) { l[i] = vec4<f32>(0.0); r[i] = vec4<f32>(0.0); }
  for (var j = t - min(W, t); j < t; j++) {
    for (var i = 0u; i < D4; i++) { l[i] += k[base + j * D4 + i]; }
  }
  for (var j = t; j < t + min(W, p.seq - t); j++) {
    for (var i = 0u; i < D4; i++) { r[i] += k[base + j * D4 + i]; }
  }
  let prev = max(t, 1u) - 1u;
  let wb = head * N;
  var s4 = vec4<f32>(0.0);
  var lr = vec4<f32>(0.0);
  var ll = vec4<f32>(0.0);
  var rr = vec4<f32>(0.0);
  var kk = vec4<f32>(0.0);
  var pp = vec4<f32>(0.0);
  var kp = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) {
    let df = l[i] - r[i];
    let kt = k[base + t * D4 + i];
    let kq = k[base + prev * D4 + i];
    let step = kt - kq;
    s4 += weights4(wb + 4u * i) * (df * df);
    s4 += weights4(wb + D + 4u * i) * (step * step);
    lr += l[i] * r[i];
    ll += l[i] * l[i];
    rr += r[i] * r[i];
    kk += kt * kt;
    pp += kq * kq;
    kp += kt * kq;
  }
  var cos_k = 0.0;
  if (t > 0u) { cos_k = cosine(hsum(kp), hsum(kk), hsum(pp)); }
  var logit = hsum(s4) + w[wb + 2u * D] * cosine(hsum(lr), hsum(ll), hsum(rr));
  logit = logit + w[wb + 2u * D + 1u] * cos_k;
  logits[head * p.seq + t] = logit + w[wb + 2u * D + 2u];
}`;
}

/** Loop iterations one invocation of the boundary pass runs at most (its window and lane loops). */
export function boundaryIterations(headDim: number): number {
  const lane = laneLoop(headDim);
  return lane + 2 * (BOUNDARY_WINDOW + 1 + BOUNDARY_WINDOW * lane) + lane;
}
