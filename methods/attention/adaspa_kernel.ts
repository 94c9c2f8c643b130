// WGSL for AdaSpa's head-adaptive budget: after the search pass (the family's block-probability
// pass summing the exact block attention mass, each row normalized by the log-sum-exp cached
// from the previous step's attention), per query block the cumulative mass of its blocks in
// selection order, then per head the fewest blocks per query block whose summed mass reaches the
// `recall` share of the total. Four passes, each invocation looping O(blocks) or O(query blocks)
// times, so the budget holds past llvmpipe's 65,535 loop iterations per invocation.
import { BLOCK_WORKGROUP, blockParamsWgsl } from "../../bench/families/attention/mod.ts";

/**
 * Per (key block, query block, slice of the stage): the block's place in selection order (own
 * block first, then the others by descending mass, ties to the lower block, as the selection
 * takes them), its mass written there in `cum`. One pass per block rather than a selection loop
 * per query block: that looped visible² times in one invocation and stopped short at 256 blocks.
 */
export function massOrderWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> cum: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kb = gid.x;
  let qb = gid.y;
  let slice = gid.z + p.slice_base;
  if (kb >= p.blocks || qb >= p.q_blocks) { return; }
  let own = last_position(qb) / p.block;
  var visible = p.blocks;
  if (p.causal == 1u) { visible = own + 1u; }
  if (kb >= visible) { return; }
  let row_scores = (slice * p.q_blocks + qb) * p.blocks;
  let s = scores[row_scores + kb];
  var place = 0u;
  if (kb != own) {
    place = 1u;
    for (var b = 0u; b < visible; b++) {
      let t = scores[row_scores + b];
      if (b != own && b != kb && (t > s || (t == s && b < kb))) { place++; }
    }
  }
  cum[row_scores + place] = s;
}`;
}

/**
 * Per (query block, slice of the stage): the running sum, in place, of the masses the order pass
 * left in selection order; entries past the visible blocks repeat the total.
 */
export function cumulativeMassWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> cum: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.x;
  let slice = gid.y + p.slice_base;
  if (qb >= p.q_blocks) { return; }
  var visible = p.blocks;
  if (p.causal == 1u) { visible = last_position(qb) / p.block + 1u; }
  let row_scores = (slice * p.q_blocks + qb) * p.blocks;
  var acc = cum[row_scores];
  for (var n = 1u; n < visible; n++) {
    acc += cum[row_scores + n];
    cum[row_scores + n] = acc;
  }
  for (var n = visible; n < p.blocks; n++) { cum[row_scores + n] = acc; }
}`;
}

/**
 * Per (block count k, slice of the stage): the mass k blocks per query block reach, summed over
 * the head's query blocks in order, at reached[slice · blocks + k − 1].
 */
export function reachedMassWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> cum: array<f32>;
@group(0) @binding(1) var<storage, read_write> reached: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let slice = gid.y + p.slice_base;
  if (n >= p.blocks) { return; }
  let base = slice * p.q_blocks * p.blocks;
  var sum = 0.0;
  for (var qb = 0u; qb < p.q_blocks; qb++) { sum += cum[base + qb * p.blocks + n]; }
  reached[slice * p.blocks + n] = sum;
}`;
}

/**
 * Per slice of the stage: the fewest blocks k per query block whose mass, summed over the head's
 * query blocks, reaches `recall` (p.density) of the head's total mass (what all blocks reach).
 */
export function headBudgetWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> reached: array<f32>;
@group(0) @binding(1) var<storage, read_write> counts: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

// One invocation per slice: dispatched with one workgroup per slice of the stage.
@compute @workgroup_size(1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let slice = gid.x + p.slice_base;
  let at = slice * p.blocks;
  let goal = p.density * reached[at + p.blocks - 1u];
  for (var k = 1u; k <= p.blocks; k++) {
    if (reached[at + k - 1u] >= goal) { counts[slice] = k; return; }
  }
  counts[slice] = p.blocks;
}`;
}

/** Loop iterations one invocation of the passes above runs, at most (all loops together). */
export function adaspaBudgetIterations(blocks: number, queryBlocks: number): number {
  return Math.max(blocks, queryBlocks) + 2;
}
