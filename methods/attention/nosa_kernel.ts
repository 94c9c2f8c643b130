// WGSL for NOSA's selection on the family's key masks, in three passes before the shared top-k and attend:
// 1. per key block, the mean of its keys (a compressed key, as InfLLM-V2's stage 1 uses);
// 2. per (query group, key block), the largest q · mean(k_block) over the group's rows;
// 3. per query group, the init block plus the best-scoring other blocks, set as key bits of the
//    group's bitmap (the query-aware part);
// and, for the query-agnostic part, a per-key importance (‖k‖₁) that topkPass ranks per head.
// Plain per-invocation loops over global memory, as the other kernels (fastest on llvmpipe).
import { laneLoop, MASKS_PARAMS, MASKS_WORKGROUP } from "../../bench/families/attention/mod.ts";

export const NOSA_WORKGROUP = MASKS_WORKGROUP;

/** NOSA's own uniforms (48 bytes), beside the shared MASKS_PARAMS. */
export const NOSA_PARAMS = /* wgsl */ `
struct Nosa { block: u32, blocks: u32, query_block: u32, q_groups: u32, qa_blocks: u32, inv_block: f32, inv_last: f32, pad: u32 };
// The key block holding the last position of a head's query group g (what the group can see).
fn last_block(g: u32) -> u32 {
  return (p.seq - p.queries + min((g + 1u) * n.query_block, p.queries) - 1u) / n.block;
}
fn visible_blocks(g: u32) -> u32 {
  if (p.causal == 1u) { return last_block(g) + 1u; }
  return n.blocks;
}
`;

const HEADER = (headDim: number) =>
  MASKS_PARAMS + NOSA_PARAMS + /* wgsl */ `
const D4: u32 = ${headDim / 4}u;
`;

/** Pass 1: per (key block, head), the element-wise mean of the block's keys. */
export function blockMeanWgsl(headDim: number): string {
  return HEADER(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> kmean: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> n: Nosa;

@compute @workgroup_size(${NOSA_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blk = gid.x;
  let head = gid.y;
  if (blk >= n.blocks) { return; }
  let first = blk * n.block;
  let last = min(first + n.block, p.seq);
  let base = head * p.seq * D4;
  // 1 / count from the host (WGSL division is not correctly rounded; multiplication is).
  var inv = n.inv_block;
  if (blk + 1u == n.blocks) { inv = n.inv_last; }
  for (var i = 0u; i < D4; i++) {
    var sum = k[base + first * D4 + i];
    for (var j = first + 1u; j < last; j++) { sum += k[base + j * D4 + i]; }
    kmean[(head * n.blocks + blk) * D4 + i] = sum * inv;
  }
}`;
}

/** Pass 2: per (key block, query group, head), the largest q · mean(k_block) over the group. */
export function blockScoreWgsl(headDim: number): string {
  return HEADER(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> kmean: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<uniform> n: Nosa;

@compute @workgroup_size(${NOSA_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kb = gid.x;
  let g = gid.y;
  let head = gid.z;
  if (kb >= n.blocks || g >= n.q_groups) { return; }
  let slot = (head * n.q_groups + g) * n.blocks + kb;
  if (kb >= visible_blocks(g)) { scores[slot] = -3.0e38; return; }
  let first = g * n.query_block;
  let last = min(first + n.query_block, p.queries);
  let summary = (head * n.blocks + kb) * D4;
  var best = -3.0e38;
  for (var row = first; row < last; row++) {
    let qrow = (head * p.queries + row) * D4;
    var s4 = vec4<f32>(0.0);
    for (var i = 0u; i < D4; i++) { s4 += q[qrow + i] * kmean[summary + i]; }
    best = max(best, s4.x + s4.y + s4.z + s4.w);
  }
  scores[slot] = best;
}`;
}

/**
 * Pass 3: per (query group, head), the init block (always: NOSA's attention sink) and the
 * best-scoring other visible blocks, ties to the lower block, up to qa_blocks, set as the keys of
 * the group's bitmap. The bitmap doubles as the "taken" mark: this invocation owns its words.
 */
export function selectBlocksWgsl(): string {
  return MASKS_PARAMS + NOSA_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> masks: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> n: Nosa;

fn taken(out: u32, b: u32) -> bool {
  let j = b * n.block;
  return (masks[out + j / 32u] & (1u << (j % 32u))) != 0u;
}

fn take(out: u32, b: u32) {
  for (var j = b * n.block; j < min((b + 1u) * n.block, p.seq); j++) {
    masks[out + j / 32u] |= 1u << (j % 32u);
  }
}

@compute @workgroup_size(${NOSA_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x;
  let head = gid.y;
  if (g >= n.q_groups) { return; }
  let visible = visible_blocks(g);
  let keep = min(n.qa_blocks, visible);
  if (keep == 0u) { return; }
  let out = group_at(head * n.q_groups + g);
  take(out, 0u);
  let row_scores = (head * n.q_groups + g) * n.blocks;
  for (var c = 1u; c < keep; c++) {
    var best = 0u;
    var best_score = -3.4e38;
    var found = false;
    for (var b = 1u; b < visible; b++) {
      let s = scores[row_scores + b];
      if (!taken(out, b) && (!found || s > best_score)) { best = b; best_score = s; found = true; }
    }
    take(out, best);
  }
}`;
}

/**
 * Per (key, head): the query-agnostic importance ‖k_j‖₁, summed over 4 lanes like the dots. Only
 * additions: no multiply-add a compiler could fuse, so every device rounds it alike.
 */
export function keyNormWgsl(headDim: number): string {
  return MASKS_PARAMS + /* wgsl */ `
const D4: u32 = ${headDim / 4}u;
@group(0) @binding(0) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> norms: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${NOSA_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let head = gid.y;
  if (j >= p.seq) { return; }
  let base = (head * p.seq + j) * D4;
  var s4 = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) { s4 += abs(k[base + i]); }
  norms[head * p.seq + j] = s4.x + s4.y + s4.z + s4.w;
}`;
}

/**
 * Loop iterations one invocation of each pass above runs at most, for key blocks of `block` keys
 * (`blocks` of them), query groups of `rows` rows and `qaBlocks` blocks chosen per group.
 */
export function nosaIterations(
  headDim: number,
  at: { block: number; blocks: number; rows: number; qaBlocks: number },
): Record<string, number> {
  const keep = Math.min(at.qaBlocks, at.blocks);
  return {
    // A lane loop holding the block's key loop (counted in full).
    "nosa-block-mean": (headDim / 4 + 1) * (at.block + 1) + 1,
    // A lane loop per row of the group.
    "nosa-block-scores": at.rows * (1 + laneLoop(headDim)) + 1,
    // The init block's keys, then per kept block a scan of the visible blocks and its keys.
    "nosa-select-blocks": at.block + 2 + keep * (at.blocks + at.block + 3),
    "nosa-key-norms": laneLoop(headDim) + 1,
  };
}
