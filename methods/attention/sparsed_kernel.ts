// WGSL for the exact block attention mass SparseD selects by (and AdaSpa searches with): a dense
// row log-sum-exp pass, then per (query block, key block) the attention probability mass of the
// block, exp(q·k/√d − lse(row)) summed over its rows and keys. Both over the slices of a stage
// (block_sparse.ts STAGED_COMMON); selection and attention are the shared staged passes.
import { BLOCK_WORKGROUP, STAGED_COMMON } from "./block_sparse.ts";
import { ROW_LSE_FN } from "./seer_oracle_kernel.ts";

/** Per (row, slice of the stage): the log-sum-exp of its scaled logits over every visible key. */
export function stagedRowLseWgsl(headDim: number): string {
  return STAGED_COMMON(headDim) + ROW_LSE_FN + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let slice = gid.y + p.slice_base;
  if (row >= p.queries) { return; }
  var last = p.seq - 1u;
  if (p.causal == 1u) { last = p.seq - p.queries + row; }
  let base = slice * p.seq * D4;
  let qrow = (slice * p.queries + row) * D4;
  lse[slice * p.queries + row] = row_lse(qrow, base, last);
}`;
}

/**
 * Per (key block, query block, slice of the stage): the block's attention mass, each row
 * normalized by the log-sum-exp stored `lse_lag` slices back (0: its own, from a dense pass).
 */
export function blockMassWgsl(headDim: number): string {
  return STAGED_COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kb = gid.x;
  let qb = gid.y;
  let slice = gid.z + p.slice_base;
  if (kb >= p.blocks || qb >= p.q_blocks) { return; }
  let slot = (slice * p.q_blocks + qb) * p.blocks + kb;
  if (p.causal == 1u && kb > last_position(qb) / p.block) { scores[slot] = -3.0e38; return; }
  let base = slice * p.seq * D4;
  let first_key = kb * p.block;
  let end_key = min(first_key + p.block, p.seq);
  let lse_base = (slice - p.lse_lag) * p.queries;
  var mass = 0.0;
  for (var row = qb * p.block; row < min((qb + 1u) * p.block, p.queries); row++) {
    var last = end_key;
    if (p.causal == 1u) { last = min(end_key, p.seq - p.queries + row + 1u); }
    let qrow = (slice * p.queries + row) * D4;
    let row_lse = lse[lse_base + row];
    for (var j = first_key; j < last; j++) {
      var dot4 = vec4<f32>(0.0);
      for (var i = 0u; i < D4; i++) { dot4 += q[qrow + i] * k[base + j * D4 + i]; }
      mass += exp((dot4.x + dot4.y + dot4.z + dot4.w) * p.scale - row_lse);
    }
  }
  scores[slot] = mass;
}`;
}
