// WGSL for DHSA (dynamic hierarchical sparse attention), the passes that fill the key-mask group
// bitmaps (the family's key masks) each computation:
// 1. per head, one invocation scans the keys and cuts them into variable-length chunks where a
//    key's cosine similarity with its chunk's running sum drops below the threshold (between
//    min and max lengths), writing each position's chunk and each chunk's representation
//    (sum of its keys / √size) — as several dispatches of a segment of keys each, the scan's
//    state carried between them in a buffer, since llvmpipe silently ends an invocation's loops
//    after 65,535 iterations in all (a whole scan at seq 8192, head dim 100 stopped short);
//    with a trained boundary predictor (dhsa_boundary.ts) the scan cuts where the predictor's
//    logit, computed per position by a pass before it, is above the threshold's instead;
// 2. per (query chunk, head, vec4 lane of the head dim), the query representation (sum of its
//    query rows / √rows), the chunk's visible key count, and the group of each of its rows;
// 3. per (key chunk, query chunk) of a round of query chunks (of any heads), the chunk
//    similarity q̃·k̃;
// 4. per (key, query chunk) of the round, the key's importance: its chunk's score (upsampling),
//    and per query chunk its budget; the key masks' topkPass then keeps the top budget of keys
//    per query chunk. Rounds bound the scratch buffers at long sequences.
// Plain per-invocation loops over global memory, as the other kernels (fastest on llvmpipe).
import { laneLoop } from "../../bench/families/attention/mod.ts";

export const DHSA_WORKGROUP = 64;

/** Marks a query chunk slot past the last chunk, and scores never chosen. */
export const NO_CHUNK = 0xffffffff;

/** The uniform layout every DHSA pass shares (12 u32/f32 slots, 48 bytes). */
export const DHSA_PARAMS = /* wgsl */ `
struct Dhsa {
  seq: u32, heads: u32, causal: u32, queries: u32,
  max_chunks: u32, q_chunks: u32, min_len: u32, max_len: u32,
  // threshold · |threshold|: cos < t  ⇔  dot·|dot| < t·|t|·|k|²·|s|² (no sqrt, no division);
  // with a trained boundary predictor, the logit of its probability threshold.
  // The round of query-chunk slots (head · q_chunks + query chunk) passes 3 and 4 handle.
  thr2: f32, density: f32, slot0: u32, round_slots: u32,
};
`;

const common = (headDim: number) =>
  DHSA_PARAMS + /* wgsl */ `
const D4: u32 = ${headDim / 4}u;
const NO_CHUNK: u32 = ${NO_CHUNK}u;
fn hsum(x: vec4<f32>) -> f32 { return ((x.x + x.y) + x.z) + x.w; }
`;

/**
 * Keys one dispatch of the chunking scan handles per head: each key runs the outer loop once and
 * up to three loops over D4 (the cosine, closing a chunk, adding the key), and llvmpipe silently
 * ends all of an invocation's loops after 65,535 iterations in total (as the key masks' top-k
 * pass works around), so a head's scan runs as several dispatches of this many keys, under ~50,000 iterations.
 */
export function scanSegment(headDim: number): number {
  return Math.max(1, Math.floor(50_000 / (2 + 3 * (headDim / 4))));
}

/**
 * Pass 1: per head, the chunking scan of keys seg.first .. seg.end − 1 and the key
 * representations, continuing from the running chunk sum, chunk start and chunk index that the
 * previous segment left in scan_sum / scan_at (the first segment starts them, the last one closes
 * the last chunk).
 */
export function chunkScanWgsl(headDim: number, predicted = false): string {
  // The stand-in's cut: the key turned away from its chunk (cos < threshold); the trained
  // predictor's: its logit (boundaryWgsl's, per position) above the threshold's logit, in thr2.
  // The logits (heads × seq) come first in the 1/√n table's buffer, the table after them: a
  // ninth storage binding would pass the 8 per stage WebGPU guarantees.
  const cutTest = predicted
    ? /* wgsl */ `cut = inv_sqrt[head * p.seq + t] > p.thr2;`
    : /* wgsl */ `var dot4 = vec4<f32>(0.0);
      var kk4 = vec4<f32>(0.0);
      var ss4 = vec4<f32>(0.0);
      for (var i = 0u; i < D4; i++) {
        let kv = k[base + t * D4 + i];
        dot4 += kv * sum[i];
        kk4 += kv * kv;
        ss4 += sum[i] * sum[i];
      }
      let dot = hsum(dot4);
      cut = dot * abs(dot) < p.thr2 * (hsum(kk4) * hsum(ss4));`;
  return common(headDim) + /* wgsl */ `
struct Segment { first: u32, end: u32 };
fn scale_of(n: u32) -> f32 { return inv_sqrt[${predicted ? "p.heads * p.seq + " : ""}n]; }
@group(0) @binding(0) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inv_sqrt: array<f32>;
@group(0) @binding(2) var<storage, read_write> chunk_of: array<u32>;
@group(0) @binding(3) var<storage, read_write> chunk_start: array<u32>;
@group(0) @binding(4) var<storage, read_write> chunk_count: array<u32>;
@group(0) @binding(5) var<storage, read_write> krep: array<vec4<f32>>;
// Per head between segments: the current chunk's key sum (D4), and its start and index.
@group(0) @binding(6) var<storage, read_write> scan_sum: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> scan_at: array<vec2<u32>>;
@group(0) @binding(8) var<uniform> p: Dhsa;
@group(0) @binding(9) var<uniform> seg: Segment;

@compute @workgroup_size(${DHSA_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let head = gid.x;
  if (head >= p.heads) { return; }
  let base = head * p.seq * D4;
  let starts = head * (p.max_chunks + 1u);
  var sum: array<vec4<f32>, D4>;
  var start = 0u;
  var chunk = 0u;
  if (seg.first == 0u) {
    for (var i = 0u; i < D4; i++) { sum[i] = vec4<f32>(0.0); }
    chunk_start[starts] = 0u;
  } else {
    for (var i = 0u; i < D4; i++) { sum[i] = scan_sum[head * D4 + i]; }
    start = scan_at[head].x;
    chunk = scan_at[head].y;
  }
  for (var t = seg.first; t < seg.end; t++) {
    let len = t - start;
    var cut = len >= p.max_len;
    if (!cut && len >= p.min_len) {
      ${cutTest}
    }
    if (cut) {
      let rep = (head * p.max_chunks + chunk) * D4;
      for (var i = 0u; i < D4; i++) { krep[rep + i] = sum[i] * scale_of(len); sum[i] = vec4<f32>(0.0); }
      chunk++;
      start = t;
      chunk_start[starts + chunk] = t;
    }
    for (var i = 0u; i < D4; i++) { sum[i] += k[base + t * D4 + i]; }
    chunk_of[head * p.seq + t] = chunk;
  }
  if (seg.end < p.seq) {
    for (var i = 0u; i < D4; i++) { scan_sum[head * D4 + i] = sum[i]; }
    scan_at[head] = vec2<u32>(start, chunk);
    return;
  }
  let rep = (head * p.max_chunks + chunk) * D4;
  for (var i = 0u; i < D4; i++) { krep[rep + i] = sum[i] * scale_of(p.seq - start); }
  chunk_start[starts + chunk + 1u] = p.seq;
  chunk_count[head] = chunk + 1u;
}`;
}

/**
 * Pass 2: per (query chunk, head, vec4 lane i of the head dimension), lane i of the
 * representation of its query rows; lane 0 also writes the chunk and visible key count in q_info
 * (NO_CHUNK past the last chunk) and its rows' group. One invocation per lane keeps each at about
 * maxChunk loop iterations (up to 4096), well under llvmpipe's 65,535 per invocation, where rows ×
 * D4 would not be; each lane's sum still adds the rows in order, so it rounds as before.
 */
export function queryChunksWgsl(headDim: number): string {
  return common(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inv_sqrt: array<f32>;
@group(0) @binding(2) var<storage, read> chunk_of: array<u32>;
@group(0) @binding(3) var<storage, read> chunk_start: array<u32>;
@group(0) @binding(4) var<storage, read> chunk_count: array<u32>;
@group(0) @binding(5) var<storage, read_write> qrep: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> q_info: array<vec2<u32>>;
@group(0) @binding(7) var<storage, read_write> row_group: array<u32>;
@group(0) @binding(8) var<uniform> p: Dhsa;

@compute @workgroup_size(${DHSA_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qc = gid.x;
  let head = gid.y;
  let lane = gid.z;
  if (qc >= p.q_chunks || lane >= D4) { return; }
  let slot = head * p.q_chunks + qc;
  let offset = p.seq - p.queries;
  // Query chunks are numbered from the chunk of the first query row (decoding: a few last rows).
  let chunk = chunk_of[head * p.seq + offset] + qc;
  if (chunk >= chunk_count[head]) {
    if (lane == 0u) { q_info[slot] = vec2<u32>(NO_CHUNK, 0u); }
    return;
  }
  let starts = head * (p.max_chunks + 1u);
  let first = max(chunk_start[starts + chunk], offset);
  let end = chunk_start[starts + chunk + 1u];
  var sum = vec4<f32>(0.0);
  for (var pos = first; pos < end; pos++) { sum += q[(head * p.queries + pos - offset) * D4 + lane]; }
  qrep[slot * D4 + lane] = sum * inv_sqrt[end - first];
  if (lane != 0u) { return; }
  for (var pos = first; pos < end; pos++) { row_group[head * p.queries + pos - offset] = slot; }
  // The chunk's last row sees keys 0 .. end − 1 when causal: whole chunks 0 .. chunk.
  var visible = p.seq;
  if (p.causal == 1u) { visible = end; }
  q_info[slot] = vec2<u32>(chunk, visible);
}`;
}

/**
 * Pass 3, per round of query-chunk slots (as pass 4): per (key chunk, slot) q̃·k̃, or −3e38
 * where the key chunk is not visible.
 */
export function chunkScoresWgsl(headDim: number): string {
  return common(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> qrep: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> krep: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> chunk_count: array<u32>;
@group(0) @binding(3) var<storage, read> q_info: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> chunk_scores: array<f32>;
@group(0) @binding(5) var<uniform> p: Dhsa;

@compute @workgroup_size(${DHSA_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kc = gid.x;
  let local_slot = gid.y;
  if (kc >= p.max_chunks || local_slot >= p.round_slots) { return; }
  let slot = p.slot0 + local_slot;
  let head = slot / p.q_chunks;
  let out = local_slot * p.max_chunks + kc;
  let chunk = q_info[slot].x;
  if (chunk == NO_CHUNK || kc >= chunk_count[head] || (p.causal == 1u && kc > chunk)) {
    chunk_scores[out] = -3.0e38;
    return;
  }
  let a = slot * D4;
  let b = (head * p.max_chunks + kc) * D4;
  var dot4 = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) { dot4 += qrep[a + i] * krep[b + i]; }
  chunk_scores[out] = hsum(dot4);
}`;
}

/**
 * Pass 4, per round of query-chunk slots slot0 .. slot0 + round_slots − 1 (slot = head · q_chunks
 * + query chunk): per (key, slot) the key's importance, its chunk's score (−3e38 beyond the
 * chunk's visible keys), and per slot the number of keys to keep (0 past the last chunk).
 */
export function upsampleWgsl(): string {
  return common(4) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> chunk_of: array<u32>;
@group(0) @binding(1) var<storage, read> q_info: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> chunk_scores: array<f32>;
@group(0) @binding(3) var<storage, read_write> token_scores: array<f32>;
@group(0) @binding(4) var<storage, read_write> keeps: array<u32>;
@group(0) @binding(5) var<uniform> p: Dhsa;

@compute @workgroup_size(${DHSA_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let local_slot = gid.y;
  if (j >= p.seq || local_slot >= p.round_slots) { return; }
  let slot = p.slot0 + local_slot;
  let head = slot / p.q_chunks;
  let info = q_info[slot];
  var score = -3.0e38;
  if (info.x != NO_CHUNK && j < info.y) {
    score = chunk_scores[local_slot * p.max_chunks + chunk_of[head * p.seq + j]];
  }
  token_scores[local_slot * p.seq + j] = score;
  if (j == 0u) {
    var keep = 0u;
    // A share of the visible keys, rounded half up in float32, at least one (topk_oracle.ts).
    if (info.x != NO_CHUNK) {
      keep = min(info.y, max(1u, u32(floor(p.density * f32(info.y) + 0.5))));
    }
    keeps[local_slot] = keep;
  }
}`;
}

/**
 * Loop iterations one invocation of each pass above runs at most, for scan segments of `segment`
 * keys and chunks of up to `maxChunk` keys.
 */
export function dhsaIterations(
  headDim: number,
  at: { segment: number; maxChunk: number },
): Record<string, number> {
  const lane = laneLoop(headDim);
  return {
    // Lane loops to start and to close; per key the cosine, a closed chunk and the key's add.
    "dhsa-chunk-scan": 4 * lane + 2 + at.segment * (1 + 3 * lane),
    // A chunk's rows, twice.
    "dhsa-query-chunks": 2 * (at.maxChunk + 1) + 1,
    "dhsa-chunk-scores": lane + 1,
    "dhsa-upsample": 0,
  };
}
