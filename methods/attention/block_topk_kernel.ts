// WGSL for block-sparse top-k attention with block summaries (Quest-style), in four passes:
// 1. per key block, the element-wise min and max of its keys;
// 2. per (query block, key block), an upper bound of q·k over the block for every query of the
//    query block (Σ_d max(q_d·max_d, q_d·min_d)), maximised over the query block;
// 3. per query block, the diagonal block plus the top-scoring other blocks, up to the budget;
// 4. per query row, online-softmax attention over the keys of the selected blocks only.
// All plain loops over global memory: no workgroup tiling, which measured slower on llvmpipe.

const WORKGROUP = 64;

/** Blocks each query block keeps: a share of the blocks it can see, at least one. */
export function blockBudget(visibleBlocks: number, density: number): number {
  // In float32 and rounding half up, exactly as the WGSL selection pass does.
  const wanted = Math.floor(Math.fround(Math.fround(density) * visibleBlocks) + 0.5);
  return Math.min(visibleBlocks, Math.max(1, wanted));
}

export const COMMON = (headDim: number): string => /* wgsl */ `
struct Params { seq: u32, heads: u32, causal: u32, block: u32, blocks: u32, density: f32, scale: f32, max_keep: u32, queries: u32, q_blocks: u32 };
// Query rows are the last positions; a query block's last row sets which key blocks it sees.
fn last_position(qb: u32) -> u32 { return p.seq - p.queries + min((qb + 1u) * p.block, p.queries) - 1u; }
const D4: u32 = ${headDim / 4}u;
`;

/** Pass 1: per (key block, head), element-wise min and max over the block's keys. */
export function summaryWgsl(headDim: number): string {
  return COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> kmin: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> kmax: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WORKGROUP})
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
  return COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> kmin: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> kmax: array<vec4<f32>>;
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
  let first = qb * p.block;
  let last = min(first + p.block, p.queries);
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

/** Pass 3: per (query block, head), the diagonal block and the best others, ascending. */
export function selectWgsl(headDim: number, blocks: number): string {
  return COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> chosen: array<u32>;
@group(0) @binding(2) var<storage, read_write> chosen_count: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.x;
  let head = gid.y;
  if (qb >= p.q_blocks) { return; }
  let own = last_position(qb) / p.block;
  var visible = p.blocks;
  if (p.causal == 1u) { visible = own + 1u; }
  let keep = min(visible, max(1u, u32(floor(p.density * f32(visible) + 0.5))));
  var taken: array<u32, ${blocks}>;
  for (var b = 0u; b < visible; b++) { taken[b] = 0u; }
  // The query block's own (diagonal) block is always kept: local context, and causal rows
  // always see at least themselves.
  taken[own] = 1u;
  let row_scores = (head * p.q_blocks + qb) * p.blocks;
  for (var n = 1u; n < keep; n++) {
    var best = 0u;
    var best_score = -3.4e38;
    var found = false;
    for (var b = 0u; b < visible; b++) {
      let s = scores[row_scores + b];
      if (taken[b] == 0u && (!found || s > best_score)) { best = b; best_score = s; found = true; }
    }
    taken[best] = 1u;
  }
  let out = (head * p.q_blocks + qb) * p.max_keep;
  var count = 0u;
  for (var b = 0u; b < visible; b++) {
    if (taken[b] == 1u) { chosen[out + count] = b; count++; }
  }
  chosen_count[head * p.q_blocks + qb] = count;
}`;
}

/** Pass 4: per (row, head), attention over the keys of the chosen blocks. */
export function attendWgsl(headDim: number): string {
  return COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> chosen: array<u32>;
@group(0) @binding(4) var<storage, read> chosen_count: array<u32>;
@group(0) @binding(5) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> visited: array<u32>;
@group(0) @binding(7) var<uniform> p: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let head = gid.y;
  if (row >= p.queries) { return; }
  let pos = p.seq - p.queries + row;
  let qb = row / p.block;
  let base = head * p.seq * D4;
  let qrow = (head * p.queries + row) * D4;
  var qr: array<vec4<f32>, D4>;
  var acc: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) {
    qr[i] = q[qrow + i] * p.scale;
    acc[i] = vec4<f32>(0.0);
  }
  var running_max = -3.0e38;
  var denom = 0.0;
  var count = 0u;
  let list = (head * p.q_blocks + qb) * p.max_keep;
  let n = chosen_count[head * p.q_blocks + qb];
  for (var c = 0u; c < n; c++) {
    let kb = chosen[list + c];
    let first = kb * p.block;
    var last = min(first + p.block, p.seq) - 1u;
    if (p.causal == 1u) { last = min(last, pos); }
    for (var j = first; j <= last; j++) {
      let kbase = base + j * D4;
      var dot4 = vec4<f32>(0.0);
      for (var i = 0u; i < D4; i++) { dot4 += qr[i] * k[kbase + i]; }
      let s = dot4.x + dot4.y + dot4.z + dot4.w;
      let new_max = max(running_max, s);
      let rescale = exp(running_max - new_max);
      let weight = exp(s - new_max);
      denom = denom * rescale + weight;
      for (var i = 0u; i < D4; i++) { acc[i] = acc[i] * rescale + weight * v[kbase + i]; }
      running_max = new_max;
    }
    count += last - first + 1u;
  }
  for (var i = 0u; i < D4; i++) { o[qrow + i] = acc[i] / denom; }
  visited[head * p.queries + row] = count;
}`;
}
