// WGSL for HiP's hierarchical top-k key selection. Per (query block, head), k chunks of key blocks
// cover the keys the query block can see; at each level every chunk splits in two, each half is
// scored by one representative key (q·k maximised over the block's query rows), and the best k
// halves (ties to the earlier one, by a 4-pass radix select as the key masks' top-k pass)
// survive, until every chunk is a single key block. The chosen key blocks become the bits of the
// query block's group bitmap; the family's key-mask attend pass then attends to them
// and the local window.
//
// The search is split into passes — init, then per level a score pass and a select pass, then a
// mask pass — with one invocation per candidate (or a workgroup per query block for the select)
// rather than one invocation running the whole search: Mesa's llvmpipe (lavapipe) silently ends
// every loop of a shader invocation once all its loops together have run 65535 iterations
// (LP_MAX_TGSI_LOOP_ITERATIONS), which a whole search at seq ≈ 7000, k ≈ 340 exceeded.
import { laneLoop, MASKS_PARAMS, ORDER_KEY_WGSL } from "../../bench/families/attention/mod.ts";

/** Invocations per workgroup of the per-chunk and per-candidate passes. */
export const HIP_WORKGROUP = 64;

/**
 * Uniforms and the per-(query block, head) geometry every pass shares. `stride`: the most chunks
 * any query block keeps (kMax). Per (query block, head) the `chunks` buffer holds kept starts,
 * kept ends (kMax each), candidate starts, candidate ends (2·kMax each), all in key blocks (a
 * candidate end of 0 marks an absent candidate: the unsplit side of a single key block);
 * `scores` holds the 2·kMax candidate scores. `level`: the level a score or select pass runs.
 */
const HIP_COMMON = MASKS_PARAMS + /* wgsl */ `
struct Hip { block_q: u32, block_k: u32, density: f32, q_blocks: u32, stride: u32, middle: u32, level: u32 };

struct Block {
  first_row: u32, last_row: u32, visible: u32,
  // Key blocks, key blocks kept, levels the search runs (⌈log2 ⌈n / keep⌉⌉).
  n: u32, keep: u32, levels: u32,
  kept_s: u32, kept_e: u32, cand_s: u32, cand_e: u32, score_at: u32,
};

fn block_of(qb: u32, head: u32) -> Block {
  var b: Block;
  b.first_row = qb * hip.block_q;
  b.last_row = min(b.first_row + hip.block_q, p.queries) - 1u;
  b.visible = p.seq;
  if (p.causal == 1u) { b.visible = p.seq - p.queries + b.last_row + 1u; }
  let bk = hip.block_k;
  b.n = (b.visible + bk - 1u) / bk;
  let want = min(b.visible, max(1u, u32(floor(hip.density * f32(b.visible) + 0.5))));
  b.keep = min(b.n, (want + bk - 1u) / bk);
  let widest = (b.n + b.keep - 1u) / b.keep;
  b.levels = 0u;
  if (widest > 1u) { b.levels = firstLeadingBit(widest - 1u) + 1u; }
  let at = head * hip.q_blocks + qb;
  b.kept_s = at * 6u * hip.stride;
  b.kept_e = b.kept_s + hip.stride;
  b.cand_s = b.kept_s + 2u * hip.stride;
  b.cand_e = b.kept_s + 4u * hip.stride;
  b.score_at = at * 2u * hip.stride;
  return b;
}
`;

/** Level 0: k chunks covering the n key blocks evenly. One invocation per (chunk, block, head). */
export function hipInitWgsl(): string {
  return HIP_COMMON + /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> chunks: array<u32>;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<uniform> hip: Hip;

@compute @workgroup_size(${HIP_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = block_of(gid.y, gid.z);
  let i = gid.x;
  if (i >= b.keep) { return; }
  // i, n < 65536, so i·n fits in u32.
  chunks[b.kept_s + i] = i * b.n / b.keep;
  chunks[b.kept_e + i] = (i + 1u) * b.n / b.keep;
}`;
}

/**
 * One level's candidates and scores. Candidate 2i and 2i + 1 are the halves of kept chunk i (the
 * left takes the odd key block); a single key block stays whole as 2i, and 2i + 1 is absent.
 * One invocation per (candidate, block, head).
 */
export function hipScoreWgsl(headDim: number): string {
  return HIP_COMMON + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> chunks: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> hip: Hip;
const D4: u32 = ${headDim / 4}u;

@compute @workgroup_size(${HIP_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let head = gid.z;
  let b = block_of(gid.y, head);
  let c = gid.x;
  if (hip.level >= b.levels || c >= 2u * b.keep) { return; }
  let s = chunks[b.kept_s + c / 2u];
  let e = chunks[b.kept_e + c / 2u];
  var lo = s;
  var hi = e;
  if (e - s > 1u) {
    let m = s + (e - s + 1u) / 2u;
    if (c % 2u == 0u) { hi = m; } else { lo = m; }
  } else if (c % 2u == 1u) {
    chunks[b.cand_s + c] = 0u;
    chunks[b.cand_e + c] = 0u;
    return;
  }
  chunks[b.cand_s + c] = lo;
  chunks[b.cand_e + c] = hi;
  // The score: its representative key against every row of the query block.
  let bk = hip.block_k;
  let ks = lo * bk;
  let ke = min(hi * bk, b.visible);
  var rep = ks;
  if (hip.middle == 1u) { rep = ks + (ke - ks) / 2u; }
  let kbase = head * p.seq * D4 + rep * D4;
  let qbase = head * p.queries * D4;
  var best = -3.0e38;
  for (var row = b.first_row; row <= b.last_row; row++) {
    var dot4 = vec4<f32>(0.0);
    for (var i = 0u; i < D4; i++) { dot4 += q[qbase + row * D4 + i] * k[kbase + i]; }
    best = max(best, dot4.x + dot4.y + dot4.z + dot4.w);
  }
  scores[b.score_at + c] = best;
}`;
}

/** Candidates one invocation of the select pass walks, at most (≈ 6 loop iterations each). */
const SELECT_RUN = 2048;

/**
 * Invocations of a select workgroup for `candidates` candidate slots: as few as keep each one's
 * run within SELECT_RUN (workgroups with barriers are costly on llvmpipe), 8 (one llvmpipe SIMD
 * vector) to 64.
 */
export function hipSelectLanes(candidates: number): number {
  let lanes = 8;
  while (lanes < 64 && lanes * SELECT_RUN < candidates) lanes *= 2;
  return lanes;
}

/**
 * One level's survivors: a workgroup of `lanes` per (block, head) radix-selects the keep-th
 * largest score of the present candidates (a shared histogram per byte), then each invocation
 * copies the survivors of its contiguous run of candidates — those above it, and equal ones
 * earliest first — to the kept lists in candidate (position) order.
 */
export function hipSelectWgsl(lanes: number): string {
  return HIP_COMMON + /* wgsl */ `
const WG: u32 = ${lanes}u;
@group(0) @binding(0) var<storage, read_write> chunks: array<u32>;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> hip: Hip;

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> above: array<u32, WG>;
var<workgroup> equal: array<u32, WG>;
${ORDER_KEY_WGSL}
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = block_of(wid.x, wid.y);
  if (hip.level >= b.levels) { return; }
  let total = 2u * b.keep;
  let per = (total + WG - 1u) / WG;
  let lo = min(lane * per, total);
  let hi = min(lo + per, total);
  var prefix = 0u;
  var prefix_mask = 0u;
  var remaining = b.keep;
  for (var round = 0u; round < 4u; round++) {
    let shift = 24u - round * 8u;
    for (var i = lane; i < 256u; i += WG) { atomicStore(&hist[i], 0u); }
    workgroupBarrier();
    for (var c = lo; c < hi; c++) {
      if (chunks[b.cand_e + c] == 0u) { continue; }
      let key = order_key(scores[b.score_at + c]);
      if ((key & prefix_mask) == prefix) { atomicAdd(&hist[(key >> shift) & 255u], 1u); }
    }
    workgroupBarrier();
    // Every invocation walks the same histogram, so all agree on the bin without a broadcast.
    var bin = 255u;
    loop {
      let h = atomicLoad(&hist[bin]);
      if (h >= remaining || bin == 0u) { break; }
      remaining -= h;
      bin--;
    }
    prefix |= bin << shift;
    prefix_mask |= 255u << shift;
    workgroupBarrier();
  }
  // Survivors: above the k-th score, and \`remaining\` of those equal to it, earliest first.
  var n_above = 0u;
  var n_equal = 0u;
  for (var c = lo; c < hi; c++) {
    if (chunks[b.cand_e + c] == 0u) { continue; }
    let key = order_key(scores[b.score_at + c]);
    if (key > prefix) { n_above++; } else if (key == prefix) { n_equal++; }
  }
  above[lane] = n_above;
  equal[lane] = n_equal;
  workgroupBarrier();
  var above_before = 0u;
  var equal_before = 0u;
  for (var l = 0u; l < lane; l++) {
    above_before += above[l];
    equal_before += equal[l];
  }
  let ties_before = min(equal_before, remaining);
  var at = above_before + ties_before;
  var ties = remaining - ties_before;
  for (var c = lo; c < hi; c++) {
    if (chunks[b.cand_e + c] == 0u) { continue; }
    let key = order_key(scores[b.score_at + c]);
    if (key < prefix) { continue; }
    if (key == prefix) {
      if (ties == 0u) { continue; }
      ties--;
    }
    chunks[b.kept_s + at] = chunks[b.cand_s + c];
    chunks[b.kept_e + at] = chunks[b.cand_e + c];
    at++;
  }
}`;
}

/** The chosen key blocks as bits of the group bitmap. One invocation per (chunk, block, head). */
export function hipMaskWgsl(): string {
  return HIP_COMMON + /* wgsl */ `
@group(0) @binding(0) var<storage, read> chunks: array<u32>;
@group(0) @binding(1) var<storage, read_write> masks: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<uniform> hip: Hip;

@compute @workgroup_size(${HIP_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.y;
  let head = gid.z;
  let b = block_of(qb, head);
  let i = gid.x;
  if (i >= b.keep) { return; }
  let out = group_at(head * hip.q_blocks + qb);
  let ks = chunks[b.kept_s + i] * hip.block_k;
  let ke = min(ks + hip.block_k, b.visible);
  // Neighbouring key blocks may share a word, hence atomicOr.
  for (var w = ks / 32u; w <= (ke - 1u) / 32u; w++) {
    let a = max(ks, w * 32u) - w * 32u;
    let width = min(ke, w * 32u + 32u) - w * 32u - a;
    var ones = 0xffffffffu;
    if (width < 32u) { ones = (1u << width) - 1u; }
    atomicOr(&masks[out + w], ones << a);
  }
}`;
}

/**
 * Loop iterations one invocation of each pass above runs at most, for query blocks of `blockQ`
 * rows, key blocks of `blockK` keys and up to `stride` chunks kept.
 */
export function hipIterations(
  headDim: number,
  at: { blockQ: number; blockK: number; stride: number },
): Record<string, number> {
  const lanes = hipSelectLanes(2 * at.stride);
  const run = Math.ceil((2 * at.stride) / lanes);
  return {
    // A lane loop per row of the query block.
    "hip-score": at.blockQ * (1 + laneLoop(headDim)) + 1,
    // Four radix bytes (this lane's share of 256 bins, its run, ≤ 256 bins), two more runs and
    // the lanes before this one.
    "hip-select": 4 * (Math.ceil(256 / lanes) + 1 + run + 1 + 257) + 2 * (run + 1) + lanes + 1,
    // The words of one key block.
    "hip-mask": Math.ceil(at.blockK / 32) + 2,
  };
}
