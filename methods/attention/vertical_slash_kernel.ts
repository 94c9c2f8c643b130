// WGSL for MInference's vertical-slash estimate: the last `last` query rows' softmax over every
// key they see, summed per key column (vertical score) and per diagonal offset t − j (slash
// score). Plain per-invocation loops as the other kernels: the logits into a scratch buffer,
// each estimation row's log-sum-exp (its max, then its sum), then both sums. Top-k and attention are the
// family's key-mask passes.
import { laneLoop, MASKS_PARAMS, MASKS_WORKGROUP } from "../../bench/families/attention/mod.ts";

/** The method's own uniforms beside the shared key-mask ones (16 bytes). */
const ESTIMATE_PARAMS = /* wgsl */ `
struct Estimate { last: u32, sinks: u32, pad0: u32, pad1: u32 };
// Estimation row r is query row queries − last + r, at position seq − last + r.
fn est_pos(r: u32) -> u32 { return p.seq - e.last + r; }
`;

/** Pass 1: per (key j, head), the scaled logits of every estimation row against key j. */
export function estimateLogitsWgsl(headDim: number): string {
  return MASKS_PARAMS + ESTIMATE_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<uniform> e: Estimate;
const D4: u32 = ${headDim / 4}u;

@compute @workgroup_size(${MASKS_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let head = gid.y;
  if (j >= p.seq) { return; }
  let kbase = (head * p.seq + j) * D4;
  for (var r = 0u; r < e.last; r++) {
    // Keys a causal row cannot see get the floor, so no later pass counts them.
    var s = -3.0e38;
    if (p.causal == 0u || j <= est_pos(r)) {
      let qrow = (head * p.queries + p.queries - e.last + r) * D4;
      var dot4 = vec4<f32>(0.0);
      for (var i = 0u; i < D4; i++) {
        let qs = q[qrow + i] * p.scale;
        dot4 += qs * k[kbase + i];
      }
      s = dot4.x + dot4.y + dot4.z + dot4.w;
    }
    logits[(head * e.last + r) * p.seq + j] = s;
  }
}`;
}

/**
 * Pass 2, in two: per (estimation row, head), the max of its logits over the keys it sees, left in
 * `lse`; then (`sum`) the log-sum-exp, max + log Σ exp(logit − max), over the same keys, in place.
 * Two plain passes (max, then sum) rather than an online softmax: the CPU reference repeats
 * exactly this order in float32. Two shaders, not one, because one invocation reading a decoding
 * row's 32,768 logits twice passes llvmpipe's 65,535 loop iterations and stops short.
 */
export function estimateLseWgsl(step: "max" | "sum"): string {
  return MASKS_PARAMS + ESTIMATE_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> e: Estimate;

@compute @workgroup_size(${MASKS_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  let head = gid.y;
  if (r >= e.last) { return; }
  let at = (head * e.last + r) * p.seq;
  var last = p.seq - 1u;
  if (p.causal == 1u) { last = est_pos(r); }
${
    step === "max"
      ? `  var m = -3.0e38;
  for (var j = 0u; j <= last; j++) { m = max(m, logits[at + j]); }
  lse[head * e.last + r] = m;`
      : `  let m = lse[head * e.last + r];
  var sum = 0.0;
  for (var j = 0u; j <= last; j++) { sum += exp(logits[at + j] - m); }
  lse[head * e.last + r] = m + log(sum);`
  }
}`;
}

/**
 * Loop iterations one invocation of each estimate pass runs at most: the logits pass loops over
 * the estimation rows (and a dot's lanes), the log-sum-exp passes over the keys, the sums over
 * the estimation rows.
 */
export function estimateIterations(
  headDim: number,
  seq: number,
  last: number,
): { logits: number; lse: number; sums: number } {
  return { logits: last * (1 + laneLoop(headDim)) + 1, lse: seq + 1, sums: last + 1 };
}

/**
 * Pass 3: per (index i, head), the vertical score of column i and the slash score of offset i:
 * the estimation rows' probabilities summed in row order. Forced columns (the first `sinks`)
 * score 3e38 so top-k always keeps them; offsets of the local window score the floor so top-k
 * never spends budget on what the window already covers.
 */
export function estimateSumsWgsl(): string {
  return MASKS_PARAMS + ESTIMATE_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> lse: array<f32>;
@group(0) @binding(2) var<storage, read_write> columns: array<f32>;
@group(0) @binding(3) var<storage, read_write> slashes: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> e: Estimate;

@compute @workgroup_size(${MASKS_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let head = gid.y;
  if (i >= p.seq) { return; }
  var column = 0.0;
  var slash = 0.0;
  for (var r = 0u; r < e.last; r++) {
    let at = (head * e.last + r) * p.seq;
    let l = lse[head * e.last + r];
    let s = logits[at + i];
    if (s > -1.0e38) { column += exp(s - l); }
    let pos = est_pos(r);
    if (i <= pos) { slash += exp(logits[at + pos - i] - l); }
  }
  if (i < e.sinks) { column = 3.0e38; }
  if (i < p.window) { slash = -3.0e38; }
  columns[head * p.seq + i] = column;
  slashes[head * p.seq + i] = slash;
}`;
}
