// WGSL for Video-BLADE's Adaptive Block-Sparse Attention (ASA), the passes before the family's
// counted select and attend:
// 1. probe log-sum-exp: per sampled query row, the log-sum-exp of its scaled logits over the
//    sampled keys it can see (the softmax of the low-resolution map Q_s·K_sᵀ/√d);
// 2. probe pool: per (query block, key block), the largest probability of that map in the tile
//    of the blocks' sampled rows and keys (max pooling to the block importance matrix);
// Each lane keeps what differs between lanes in private memory (pass 1 its query row, pass 2
// each key it scores) and reads what all lanes share from storage: reloading the row for every
// key made pass 1 cost more than the sparse attention at seq 4096 on llvmpipe.
// 3. rank: per (query block, key block), the block's place in its query block's descending order
//    and the importance summed down to it (the sorted cumulative sum, split from 4 so that no
//    invocation loops over blocks² at 256 blocks);
// 4. budget: per query block, the fewest blocks whose importance reaches `threshold` of the
//    query block's total, clamped to the retention range; the select pass keeps that many.
import {
  BLOCK_WORKGROUP,
  blockParamsWgsl,
  KEY_DOT_UNROLLED,
  KEY_DOT_WGSL,
  laneLoop,
} from "../../bench/families/attention/mod.ts";

/** Marks a sample slot of a block with fewer tokens than samples. */
export const NO_SAMPLE = 0xffffffff;

/** Bytes of ASA's own uniform block (samples per block, threshold, retention range). */
export const ASA_UNIFORM_BYTES = 16;

// ASA's uniforms beside the family's: sampled tokens per block, the cumulative threshold, and the
// retention range as shares of the visible blocks.
const ASA_PARAMS = /* wgsl */ `
struct AsaParams { samples: u32, threshold: f32, min_retain: f32, max_retain: f32 };
`;

// Probabilities below float32's smallest normal are flushed to zero on both sides (the CPU
// reference does the same): a GPU may flush denormals where JavaScript keeps them.
const FLUSH = "1.17549435e-38";

/** Pass 1: per (sampled query slot, head), the probe row's log-sum-exp over its sampled keys. */
export function probeLseWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + ASA_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> query_samples: array<u32>;
@group(0) @binding(3) var<storage, read> key_samples: array<u32>;
@group(0) @binding(4) var<storage, read_write> probe_lse: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
@group(0) @binding(6) var<uniform> a: AsaParams;
${KEY_DOT_WGSL}
@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let slot = gid.x;
  let head = gid.y;
  if (slot >= p.q_blocks * a.samples) { return; }
  let qb = slot / a.samples;
  let row = query_samples[head * p.q_blocks * a.samples + slot];
  if (row == ${NO_SAMPLE}u) { return; }
  let pos = p.seq - p.queries + row;
  var visible = p.blocks;
  if (p.causal == 1u) { visible = last_position(qb) / p.block + 1u; }
  let qrow = (head * p.queries + row) * D4;
  // The row once in private memory (unscaled: the scale follows the dot, as the CPU's order):
  // every lane of a head walks the same sampled keys, so only the query differs between lanes.
  var qr: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) { qr[i] = q[qrow + i]; }
  let base = head * p.seq * D4;
  let keys = head * p.blocks * a.samples;
  var running_max = -3.0e38;
  var denom = 0.0;
  for (var i = 0u; i < visible * a.samples; i++) {
    let j = key_samples[keys + i];
    if (j == ${NO_SAMPLE}u || (p.causal == 1u && j > pos)) { continue; }
    let s = key_dot(&qr, base + j * D4) * p.scale;
    let new_max = max(running_max, s);
    denom = denom * exp(running_max - new_max) + exp(s - new_max);
    running_max = new_max;
  }
  probe_lse[head * p.q_blocks * a.samples + slot] = running_max + log(denom);
}`;
}

/**
 * Pass 2: per (key block, query block, head), the block importance: the largest probe
 * probability exp(s − lse(row)) over the tile's sampled rows and visible sampled keys (0 where
 * none is visible), into the family's scores buffer.
 */
export function probePoolWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + ASA_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> query_samples: array<u32>;
@group(0) @binding(3) var<storage, read> key_samples: array<u32>;
@group(0) @binding(4) var<storage, read> probe_lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;
@group(0) @binding(7) var<uniform> a: AsaParams;
// q·k with the key in private memory and the query row read from storage: the lanes of a
// workgroup score one query block's rows (the same rows, read once for all) against their own
// key blocks' keys.
fn query_dot(kr: ptr<function, array<vec4<f32>, D4>>, qrow: u32) -> f32 {
  var lanes = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) { lanes += q[qrow + i] * (*kr)[i]; }
  return lanes.x + lanes.y + lanes.z + lanes.w;
}
@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kb = gid.x;
  let qb = gid.y;
  let head = gid.z;
  if (kb >= p.blocks || qb >= p.q_blocks) { return; }
  let slot = (head * p.q_blocks + qb) * p.blocks + kb;
  if (p.causal == 1u && kb > last_position(qb) / p.block) { scores[slot] = 0.0; return; }
  let base = head * p.seq * D4;
  let rows = (head * p.q_blocks + qb) * a.samples;
  let keys = (head * p.blocks + kb) * a.samples;
  var pooled = 0.0;
  var kr: array<vec4<f32>, D4>;
  for (var i = 0u; i < a.samples; i++) {
    let j = key_samples[keys + i];
    if (j == ${NO_SAMPLE}u) { continue; }
    for (var c = 0u; c < D4; c++) { kr[c] = k[base + j * D4 + c]; }
    for (var r = 0u; r < a.samples; r++) {
      let row = query_samples[rows + r];
      if (row == ${NO_SAMPLE}u || (p.causal == 1u && j > p.seq - p.queries + row)) { continue; }
      let s = query_dot(&kr, (head * p.queries + row) * D4) * p.scale;
      var probability = exp(s - probe_lse[rows + r]);
      if (probability < ${FLUSH}) { probability = 0.0; }
      pooled = max(pooled, probability);
    }
  }
  scores[slot] = pooled;
}`;
}

/**
 * Pass 3: per (key block, query block, head), the block's rank among its query block's visible
 * blocks (importance descending, ties to the lower block, as the select takes them) and the
 * importance summed in block order over it and every block ranked before it: the sorted
 * cumulative sum at the block's place.
 */
export function rankWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> reached: array<f32>;
@group(0) @binding(2) var<storage, read_write> rank: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kb = gid.x;
  let qb = gid.y;
  let head = gid.z;
  if (kb >= p.blocks || qb >= p.q_blocks) { return; }
  var visible = p.blocks;
  if (p.causal == 1u) { visible = last_position(qb) / p.block + 1u; }
  if (kb >= visible) { return; }
  let row = (head * p.q_blocks + qb) * p.blocks;
  let own_score = scores[row + kb];
  var sum = 0.0;
  var before = 0u;
  for (var b = 0u; b < visible; b++) {
    let s = scores[row + b];
    let ahead = s > own_score || (s == own_score && b < kb);
    // An add for every block (of zero for those ranked after): the count extraFlops gives.
    sum += select(0.0, s, ahead || b == kb);
    before += select(0u, 1u, ahead);
  }
  reached[row + kb] = sum;
  rank[row + kb] = before;
}`;
}

/**
 * Pass 4: per (query block, head), the fewest blocks whose sorted cumulative importance reaches
 * `threshold` × the total (summed in block order), clamped to [max(1, ⌊min_retain · visible⌋),
 * max(1, ⌊max_retain · visible⌋)], left in `keep_counts` for the counted select.
 */
export function budgetWgsl(headDim: number): string {
  return blockParamsWgsl(headDim) + ASA_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read> reached: array<f32>;
@group(0) @binding(2) var<storage, read> rank: array<u32>;
@group(0) @binding(3) var<storage, read_write> keep_counts: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> a: AsaParams;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.x;
  let head = gid.y;
  if (qb >= p.q_blocks) { return; }
  var visible = p.blocks;
  if (p.causal == 1u) { visible = last_position(qb) / p.block + 1u; }
  let row = (head * p.q_blocks + qb) * p.blocks;
  var total = 0.0;
  for (var b = 0u; b < visible; b++) { total += scores[row + b]; }
  let goal = a.threshold * total;
  var count = visible;
  for (var b = 0u; b < visible; b++) {
    if (reached[row + b] >= goal) { count = min(count, rank[row + b] + 1u); }
  }
  let least = max(1u, u32(floor(a.min_retain * f32(visible))));
  let most = max(1u, u32(floor(a.max_retain * f32(visible))));
  keep_counts[head * p.q_blocks + qb] = min(max(count, least), most);
}`;
}

/**
 * Loop iterations one invocation of each pass above runs at most, for `blocks` key blocks and
 * `samples` sampled tokens per block.
 */
export function asaIterations(
  headDim: number,
  blocks: number,
  samples: number,
): Record<string, number> {
  const dot = 1 + laneLoop(headDim, KEY_DOT_UNROLLED);
  // Copies of a row into private memory: a lane loop (unrolled up to 16 lanes).
  const copy = laneLoop(headDim);
  return {
    // The row's copy, then one loop over every visible sampled key, a dot each.
    "asa-probe-lse": copy + blocks * samples * dot + 1,
    // Per sampled key its copy, then the sampled rows (a dot each).
    "asa-probe-pool": 1 + samples * (1 + copy + 1 + samples * dot),
    "asa-rank": blocks + 1,
    "asa-budget": 2 * (blocks + 1),
  };
}
