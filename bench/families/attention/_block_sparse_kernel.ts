// WGSL block-sparse attention methods share: the uniform block every block pass reads, the
// selection of each query block's key blocks (scored by the method, or planned from another
// slice's scores), attention over the chosen blocks, and the dense attention probabilities a
// block gate or mass is pooled from. Plain loops over global memory: no workgroup tiling, which
// measured slower on llvmpipe.
import {
  blockSelectWgsl,
  headDimWgsl,
  KEY_DOT_WGSL,
  ONLINE_SOFTMAX_WGSL,
  ROW_LSE_WGSL,
  STORED_KEY_DOT_WGSL,
} from "./_wgsl.ts";
import { attendKeyIterations, KEY_DOT_UNROLLED, laneLoop } from "./_iteration_bound.ts";
import { type AttentionShape, queryCount } from "./_interface.ts";

/** Invocations per workgroup of the block passes. */
export const BLOCK_WORKGROUP = 64;

/** Bytes of the uniform block {@link blockParamsWgsl} declares (13 u32s, padded to 16 bytes). */
export const BLOCK_UNIFORM_BYTES = 64;

/**
 * WGSL the block passes start with: their uniform block `p` (keys, heads, causal, keys per block,
 * key blocks, density, 1/√d, the most blocks a query block keeps, queries, query blocks, the first
 * slice a staged pass sees as gid 0, how many slices back it reads the row log-sum-exp from, and
 * query rows per query block: `block` unless a method selects for fewer rows, e.g. one per
 * decoding query as Quest does), `last_position(qb)` (the position of a query block's last row:
 * it sets which key blocks the block sees) and `D4`. A method's own block passes declare `@binding(n) var<uniform> p: Params`.
 */
export function blockParamsWgsl(headDim: number): string {
  return /* wgsl */ `
struct Params { seq: u32, heads: u32, causal: u32, block: u32, blocks: u32, density: f32, scale: f32, max_keep: u32, queries: u32, q_blocks: u32, slice_base: u32, lse_lag: u32, q_block: u32 };
// Query rows are the last positions; a query block's last row sets which key blocks it sees.
fn last_position(qb: u32) -> u32 { return p.seq - p.queries + min((qb + 1u) * p.q_block, p.queries) - 1u; }
${headDimWgsl(headDim)}`;
}

/**
 * Selection: per (query block, head), the own block and the best-scoring others, ascending. With
 * `counted`, each query block keeps the number of blocks the method's passes left in
 * `keep_counts` (heads × query blocks u32, e.g. a threshold on cumulative mass) instead of
 * `density` of the visible ones.
 */
export function blockSelectPassWgsl(headDim: number, options: { counted?: boolean } = {}): string {
  const counted = options.counted ?? false;
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> chosen: array<u32>;
@group(0) @binding(2) var<storage, read_write> chosen_count: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;${
    counted ? "\n@group(0) @binding(4) var<storage, read> keep_counts: array<u32>;" : ""
  }
${blockSelectWgsl()}
@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.x;
  let head = gid.y;
  if (qb >= p.q_blocks) { return; }
  let own = last_position(qb) / p.block;
  var visible = p.blocks;
  if (p.causal == 1u) { visible = own + 1u; }
  let keep = min(visible, max(1u, ${
    counted ? "keep_counts[head * p.q_blocks + qb]" : "u32(floor(p.density * f32(visible) + 0.5))"
  }));
  let row_scores = (head * p.q_blocks + qb) * p.blocks;
  let out = (head * p.q_blocks + qb) * p.max_keep;
  chosen_count[head * p.q_blocks + qb] = select_blocks(row_scores, visible, keep, own, out);
}`;
}

/**
 * Planned selection, per (query block, slice of the stage): the source slice's best blocks, with
 * the slice's planned share of the visible blocks, or the source's GPU-computed block count.
 */
export function plannedSelectPassWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> chosen: array<u32>;
@group(0) @binding(2) var<storage, read_write> chosen_count: array<u32>;
@group(0) @binding(3) var<storage, read> plan_source: array<u32>;
@group(0) @binding(4) var<storage, read> plan_density: array<f32>;
@group(0) @binding(5) var<storage, read> counts: array<u32>;
@group(0) @binding(6) var<uniform> p: Params;
${blockSelectWgsl()}
@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.x;
  let slice = gid.y + p.slice_base;
  if (qb >= p.q_blocks) { return; }
  let src = plan_source[slice];
  let own = last_position(qb) / p.block;
  var visible = p.blocks;
  if (p.causal == 1u) { visible = own + 1u; }
  var keep = min(visible, max(1u, u32(floor(plan_density[slice] * f32(visible) + 0.5))));
  // A budget the method computed on the GPU (a block count for the source slice) overrides.
  if (counts[src] > 0u) { keep = min(visible, counts[src]); }
  let row_scores = (src * p.q_blocks + qb) * p.blocks;
  let out = (slice * p.q_blocks + qb) * p.max_keep;
  chosen_count[slice * p.q_blocks + qb] = select_blocks(row_scores, visible, keep, own, out);
}`;
}

/**
 * Attention, per (row, head or slice of the stage), over the keys of its query block's chosen
 * blocks. With `lse`, each row's log-sum-exp of the scaled logits it attended is left too (a
 * later stage's search may reuse it instead of a pass of its own).
 */
export function blockAttendPassWgsl(headDim: number, options: { lse: boolean }): string {
  const lse = options.lse;
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> chosen: array<u32>;
@group(0) @binding(4) var<storage, read> chosen_count: array<u32>;
@group(0) @binding(5) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> visited: array<u32>;
${
    lse
      ? `@group(0) @binding(7) var<storage, read_write> lse: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;`
      : "@group(0) @binding(7) var<uniform> p: Params;"
  }
${KEY_DOT_WGSL}${ONLINE_SOFTMAX_WGSL}
@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let head = gid.y + p.slice_base;
  if (row >= p.queries) { return; }
  let pos = p.seq - p.queries + row;
  let qb = row / p.q_block;
  let base = head * p.seq * D4;
  let qrow = (head * p.queries + row) * D4;
  var qr: array<vec4<f32>, D4>;
  var acc: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) {
    qr[i] = q[qrow + i] * p.scale;
    acc[i] = vec4<f32>(0.0);
  }
  var state = softmax_start();
  var count = 0u;
  let list = (head * p.q_blocks + qb) * p.max_keep;
  let n = chosen_count[head * p.q_blocks + qb];
  for (var c = 0u; c < n; c++) {
    let kb = chosen[list + c];
    let first = kb * p.block;
    var last = min(first + p.block, p.seq) - 1u;
    if (p.causal == 1u) { last = min(last, pos); }
    // A decoding row can lie before its query block's own block (the block spans a key-block
    // boundary): it sees none of that block's keys, and 'last - first + 1' would wrap.
    if (last + 1u <= first) { continue; }
    for (var j = first; j <= last; j++) {
      let kbase = base + j * D4;
      softmax_add(&state, &acc, key_dot(&qr, kbase), kbase);
    }
    count += last - first + 1u;
  }
  for (var i = 0u; i < D4; i++) { o[qrow + i] = acc[i] / state.denom; }
  visited[head * p.queries + row] = count;${
    lse ? "\n  lse[head * p.queries + row] = state.running_max + log(state.denom);" : ""
  }
}`;
}

/**
 * Per (row, head or slice of the stage): the log-sum-exp of its scaled logits over every key it
 * can see, the normaliser of its dense softmax.
 */
export function rowLsePassWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
${ROW_LSE_WGSL}
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
 * Per (key block, query block, head or slice of the stage): the block's dense attention
 * probabilities exp(q·k/√d − lse(row)) over its rows and keys, pooled by `max` (SeerAttention's
 * oracle gate: the block max-pooled attention map) or `sum` (the block's attention mass), each
 * row normalised by the log-sum-exp stored `lse_lag` slices back (0: its own).
 */
export function blockProbabilityPassWgsl(headDim: number, pool: "max" | "sum"): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
${STORED_KEY_DOT_WGSL}
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
  var pooled = 0.0;
  for (var row = qb * p.q_block; row < min((qb + 1u) * p.q_block, p.queries); row++) {
    var last = end_key;
    if (p.causal == 1u) { last = min(end_key, p.seq - p.queries + row + 1u); }
    let qrow = (slice * p.queries + row) * D4;
    let row_lse = lse[lse_base + row];
    for (var j = first_key; j < last; j++) {
      let probability = exp(stored_key_dot(qrow, base + j * D4) * p.scale - row_lse);
      ${pool === "max" ? "pooled = max(pooled, probability);" : "pooled += probability;"}
    }
  }
  scores[slot] = pooled;
}`;
}

/**
 * Loop iterations one invocation of {@link blockAttendPassWgsl} runs at most, for a query block
 * keeping up to `keep` key blocks of `block` keys.
 */
export function blockAttendIterations(shape: AttentionShape, block: number, keep: number): number {
  const keys = Math.min(keep * block, shape.seq);
  // The lane loops before and after, the block loop, and per block the key loop's exit.
  return 2 * laneLoop(shape.headDim) + 1 + 2 * keep + keys * attendKeyIterations(shape.headDim);
}

/**
 * Loop iterations one invocation of {@link rowLsePassWgsl} runs at most: a `stored_key_dot` per
 * key it sees.
 */
export function rowLseIterations(shape: AttentionShape): number {
  return shape.seq * (1 + laneLoop(shape.headDim, KEY_DOT_UNROLLED)) + 1;
}

/**
 * Loop iterations one invocation of {@link blockProbabilityPassWgsl} runs at most: a block's rows
 * against a block's keys.
 */
export function blockProbabilityIterations(shape: AttentionShape, block: number): number {
  const rows = Math.min(block, queryCount(shape));
  return 1 + rows * (2 + block * (1 + laneLoop(shape.headDim, KEY_DOT_UNROLLED)));
}
