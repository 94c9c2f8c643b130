// WGSL for SeerAttention's training-free oracle gate: the gate of a (query block, key block) is
// the block's maximum of the true attention probabilities (2-D max-pooling of the attention map),
// which needs every row's log-sum-exp first. Selection and attention are the shared block passes.
import { COMMON } from "./block_topk_kernel.ts";

const WORKGROUP = 64;

/**
 * WGSL: the log-sum-exp of one query row's scaled scores over keys 0..last (online, in key
 * order), for kernels binding `q`, `k` and a uniform `p` with `scale`. Shared by the oracle gate
 * and the staged block-mass search of SparseD and AdaSpa.
 */
export const ROW_LSE_FN = /* wgsl */ `
fn row_lse(qrow: u32, base: u32, last: u32) -> f32 {
  var running_max = -3.0e38;
  var denom = 0.0;
  for (var j = 0u; j <= last; j++) {
    var dot4 = vec4<f32>(0.0);
    for (var i = 0u; i < D4; i++) { dot4 += q[qrow + i] * k[base + j * D4 + i]; }
    let s = (dot4.x + dot4.y + dot4.z + dot4.w) * p.scale;
    let new_max = max(running_max, s);
    denom = denom * exp(running_max - new_max) + exp(s - new_max);
    running_max = new_max;
  }
  return running_max + log(denom);
}
`;

/** Pass 1: per (query row, head), the log-sum-exp of its scaled scores over visible keys. */
export function rowLseWgsl(headDim: number): string {
  return COMMON(headDim) + ROW_LSE_FN + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let head = gid.y;
  if (row >= p.queries) { return; }
  let pos = p.seq - p.queries + row;
  var last = p.seq - 1u;
  if (p.causal == 1u) { last = pos; }
  let base = head * p.seq * D4;
  let qrow = (head * p.queries + row) * D4;
  lse[head * p.queries + row] = row_lse(qrow, base, last);
}`;
}

/** Pass 2: per (key block, query block, head), the largest probability in the block. */
export function blockGateWgsl(headDim: number): string {
  return COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kb = gid.x;
  let qb = gid.y;
  let head = gid.z;
  if (kb >= p.blocks || qb >= p.q_blocks) { return; }
  let slot = (head * p.q_blocks + qb) * p.blocks + kb;
  if (p.causal == 1u && kb > last_position(qb) / p.block) { scores[slot] = -3.0e38; return; }
  let base = head * p.seq * D4;
  let first_key = kb * p.block;
  let end_key = min(first_key + p.block, p.seq);
  var best = 0.0;
  for (var row = qb * p.block; row < min((qb + 1u) * p.block, p.queries); row++) {
    let pos = p.seq - p.queries + row;
    var last = end_key;
    if (p.causal == 1u) { last = min(end_key, pos + 1u); }
    let qrow = (head * p.queries + row) * D4;
    let row_lse = lse[head * p.queries + row];
    for (var j = first_key; j < last; j++) {
      var dot4 = vec4<f32>(0.0);
      for (var i = 0u; i < D4; i++) { dot4 += q[qrow + i] * k[base + j * D4 + i]; }
      best = max(best, exp((dot4.x + dot4.y + dot4.z + dot4.w) * p.scale - row_lse));
    }
  }
  scores[slot] = best;
}`;
}

export const SEER_WORKGROUP = WORKGROUP;
