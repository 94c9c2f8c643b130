// WGSL for block-sparse top-k attention with block summaries (Quest-style), in four passes:
// 1. per key block, the element-wise min and max of its keys;
// 2. per (query block, key block), an upper bound of q·k over the block for every query of the
//    query block (Σ_d max(q_d·max_d, q_d·min_d)), maximised over the query block (one row per
//    query block when decoding: each query its own bound, as Quest);
// 3. per query block, the diagonal block plus the top-scoring other blocks, up to the budget;
// 4. per query row, online-softmax attention over the keys of the selected blocks only.
// Passes 3 and 4 are the family's shared block-sparse passes; this file holds 1 and 2.
import { BLOCK_WORKGROUP, blockParamsWgsl, laneLoop } from "../../bench/families/attention/mod.ts";

/** Pass 1: per (key block, head), element-wise min and max over the block's keys. */
export function summaryWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> kmin: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> kmax: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blk = gid.x;
  let head = gid.y;
  if (blk >= p.blocks) { return; }
  let first = blk * p.block;
  let last = min(first + p.block, p.seq);
  let base = head * p.seq * D4;
  let out = (head * p.blocks + blk) * D4;
  for (var i = 0u; i < D4; i++) {
    var lo = k[base + first * D4 + i];
    var hi = lo;
    for (var j = first + 1u; j < last; j++) {
      let x = k[base + j * D4 + i];
      lo = min(lo, x);
      hi = max(hi, x);
    }
    kmin[out + i] = lo;
    kmax[out + i] = hi;
  }
}`;
}

/** Pass 2: per (key block, query block, head), the largest upper bound over the query block. */
export function blockScoreWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> kmin: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> kmax: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kb = gid.x;
  let qb = gid.y;
  let head = gid.z;
  if (kb >= p.blocks || qb >= p.q_blocks) { return; }
  let slot = (head * p.q_blocks + qb) * p.blocks + kb;
  if (p.causal == 1u && kb > last_position(qb) / p.block) { scores[slot] = -3.0e38; return; }
  let first = qb * p.q_block;
  let last = min(first + p.q_block, p.queries);
  let qbase = head * p.queries * D4;
  let summary = (head * p.blocks + kb) * D4;
  var best = -3.0e38;
  for (var row = first; row < last; row++) {
    var s4 = vec4<f32>(0.0);
    for (var i = 0u; i < D4; i++) {
      let qv = q[qbase + row * D4 + i];
      s4 += max(qv * kmax[summary + i], qv * kmin[summary + i]);
    }
    best = max(best, s4.x + s4.y + s4.z + s4.w);
  }
  scores[slot] = best;
}`;
}

/**
 * Loop iterations one invocation of each pass above runs at most, for blocks of `block` keys and
 * selections of `queryBlock` query rows.
 */
export function questIterations(
  headDim: number,
  block: number,
  queryBlock: number = block,
): Record<string, number> {
  return {
    // A lane loop holding the block's key loop: counted in full (loop, exits and all).
    "quest-summary": (headDim / 4 + 1) * (block + 1) + 1,
    // Per row of the query block, a lane loop.
    "quest-scores": queryBlock * (1 + laneLoop(headDim)) + 1,
  };
}
