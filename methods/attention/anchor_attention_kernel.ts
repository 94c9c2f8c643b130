// WGSL for AnchorAttention's selection, in three passes before the shared key-mask attend:
// 1. per query row, the anchor: its largest scaled q·k over the initial tokens and its window;
// 2. per query block, the sum of its rows' q (the pooled query, unscaled) and the threshold
//    Σ anchors − rows·θ (the block's mean anchor − θ, times the rows: no division, so the CPU
//    reference can repeat it exactly);
// 3. per (32-key word, query block), the stripe bits: a key is kept when the pooled query's
//    score reaches the threshold (mean score ≥ mean anchor − θ), the initial tokens always.
import {
  KEY_DOT_UNROLLED,
  laneLoop,
  MASKS_PARAMS,
  MASKS_WORKGROUP,
} from "../../bench/families/attention/mod.ts";

const ANCHOR_PARAMS = /* wgsl */ `
struct Anchor { block: u32, init: u32, q_blocks: u32, theta: f32 };
fn block_last_pos(qb: u32) -> u32 { return p.seq - p.queries + min((qb + 1u) * a.block, p.queries) - 1u; }
`;

/** Pass 1: per (query row, head), the anchor of the row. */
export function rowAnchorWgsl(headDim: number): string {
  return MASKS_PARAMS + ANCHOR_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> anchors: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<uniform> a: Anchor;
const D4: u32 = ${headDim / 4}u;

fn score(qr: ptr<function, array<vec4<f32>, D4>>, kbase: u32) -> f32 {
  var dot4 = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) { dot4 += (*qr)[i] * k[kbase + i]; }
  return dot4.x + dot4.y + dot4.z + dot4.w;
}

@compute @workgroup_size(${MASKS_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let head = gid.y;
  if (row >= p.queries) { return; }
  let pos = p.seq - p.queries + row;
  var last = p.seq - 1u;
  if (p.causal == 1u) { last = pos; }
  let qrow = (head * p.queries + row) * D4;
  var qr: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) { qr[i] = q[qrow + i] * p.scale; }
  var best = -3.0e38;
  for (var j = 0u; j < min(a.init, last + 1u); j++) {
    best = max(best, score(&qr, (head * p.seq + j) * D4));
  }
  for (var o = 0u; o < min(p.window, pos + 1u); o++) {
    best = max(best, score(&qr, (head * p.seq + pos - o) * D4));
  }
  anchors[head * p.queries + row] = best;
}`;
}

/** Pass 2: per (query block, head), the pooled query sum and the stripe threshold. */
export function poolWgsl(headDim: number): string {
  return MASKS_PARAMS + ANCHOR_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> anchors: array<f32>;
@group(0) @binding(2) var<storage, read_write> pooled: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> thresholds: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> a: Anchor;
const D4: u32 = ${headDim / 4}u;

@compute @workgroup_size(${MASKS_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.x;
  let head = gid.y;
  if (qb >= a.q_blocks) { return; }
  let first = qb * a.block;
  let end = min(first + a.block, p.queries);
  let out = (head * a.q_blocks + qb) * D4;
  for (var i = 0u; i < D4; i++) {
    var sum = vec4<f32>(0.0);
    for (var row = first; row < end; row++) { sum += q[(head * p.queries + row) * D4 + i]; }
    pooled[out + i] = sum;
  }
  var anchor_sum = 0.0;
  for (var row = first; row < end; row++) { anchor_sum += anchors[head * p.queries + row]; }
  thresholds[head * a.q_blocks + qb] = anchor_sum - f32(end - first) * a.theta;
}`;
}

/** Pass 3: per (mask word, query block, head), the block's stripe bits; one invocation a word. */
export function stripeWgsl(headDim: number): string {
  return MASKS_PARAMS + ANCHOR_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> pooled: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> thresholds: array<f32>;
@group(0) @binding(3) var<storage, read_write> masks: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> a: Anchor;
const D4: u32 = ${headDim / 4}u;

@compute @workgroup_size(${MASKS_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = gid.x;
  let qb = gid.y;
  let head = gid.z;
  if (w >= p.words || qb >= a.q_blocks) { return; }
  var last = p.seq - 1u;
  if (p.causal == 1u) { last = block_last_pos(qb); }
  let group = head * a.q_blocks + qb;
  let at = group * D4;
  let threshold = thresholds[group];
  var bits = 0u;
  for (var t = 0u; t < 32u; t++) {
    let j = w * 32u + t;
    if (j > last) { break; }
    if (j < a.init) { bits |= 1u << t; continue; }
    var dot4 = vec4<f32>(0.0);
    let kbase = (head * p.seq + j) * D4;
    for (var i = 0u; i < D4; i++) { dot4 += pooled[at + i] * k[kbase + i]; }
    if ((dot4.x + dot4.y + dot4.z + dot4.w) * p.scale >= threshold) { bits |= 1u << t; }
  }
  masks[group_at(group) + w] = bits;
}`;
}

/** Loop iterations one invocation of each pass above runs at most. */
export function anchorIterations(
  headDim: number,
  at: { seq: number; block: number; initTokens: number; window: number },
): Record<string, number> {
  const dot = 1 + laneLoop(headDim, KEY_DOT_UNROLLED);
  const rows = Math.min(at.initTokens, at.seq) + Math.min(at.window, at.seq);
  return {
    // A lane loop, then a dot per init and window key.
    "anchor-rows": laneLoop(headDim) + 2 + rows * dot,
    // A lane loop holding the block's row loop (counted in full), then the rows again.
    "anchor-pool": (headDim / 4 + 1) * (at.block + 1) + at.block + 2,
    // 32 keys of a word, a dot each.
    "anchor-stripes": 33 * dot + 1,
  };
}
