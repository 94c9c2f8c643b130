// WGSL for AdaSpa's head-adaptive budget: after the search pass (the family's block-probability
// pass summing the exact block attention mass, each row normalized by the log-sum-exp cached
// from the previous step's attention), per query block the cumulative mass of its blocks in
// selection order, then per head the fewest blocks per query block whose summed mass reaches the
// `recall` share of the total.
import { BLOCK_WORKGROUP, blockParamsWgsl } from "../../bench/families/attention/mod.ts";

/**
 * Per (query block, slice of the stage): the running sum of its block masses, own block first,
 * then the others by descending mass (ties to the lower block, as the selection takes them);
 * entries past the visible blocks repeat the total.
 */
export function cumulativeMassWgsl(headDim: number, blocks: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> cum: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.x;
  let slice = gid.y + p.slice_base;
  if (qb >= p.q_blocks) { return; }
  let own = last_position(qb) / p.block;
  var visible = p.blocks;
  if (p.causal == 1u) { visible = own + 1u; }
  let row_scores = (slice * p.q_blocks + qb) * p.blocks;
  var taken: array<u32, ${blocks}>;
  for (var b = 0u; b < visible; b++) { taken[b] = 0u; }
  taken[own] = 1u;
  var acc = scores[row_scores + own];
  cum[row_scores] = acc;
  for (var n = 1u; n < visible; n++) {
    var best = 0u;
    var best_score = -3.4e38;
    var found = false;
    for (var b = 0u; b < visible; b++) {
      let s = scores[row_scores + b];
      if (taken[b] == 0u && (!found || s > best_score)) { best = b; best_score = s; found = true; }
    }
    taken[best] = 1u;
    acc += best_score;
    cum[row_scores + n] = acc;
  }
  for (var n = visible; n < p.blocks; n++) { cum[row_scores + n] = acc; }
}`;
}

/**
 * Per slice of the stage: the fewest blocks k per query block whose mass, summed over the head's
 * query blocks, reaches `recall` (p.density) of the head's total mass.
 */
export function headBudgetWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> cum: array<f32>;
@group(0) @binding(1) var<storage, read_write> counts: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

// One invocation per slice: dispatched with one workgroup per slice of the stage.
@compute @workgroup_size(1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let slice = gid.x + p.slice_base;
  let base = slice * p.q_blocks * p.blocks;
  var total = 0.0;
  for (var qb = 0u; qb < p.q_blocks; qb++) { total += cum[base + qb * p.blocks + p.blocks - 1u]; }
  let goal = p.density * total;
  for (var k = 1u; k <= p.blocks; k++) {
    var reached = 0.0;
    for (var qb = 0u; qb < p.q_blocks; qb++) { reached += cum[base + qb * p.blocks + k - 1u]; }
    if (reached >= goal) { counts[slice] = k; return; }
  }
  counts[slice] = p.blocks;
}`;
}
