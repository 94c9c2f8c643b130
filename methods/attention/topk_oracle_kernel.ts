// WGSL for exact per-query top-k attention. One invocation per query row, in six passes (the
// `stage` uniform): 0 writes the row's scores to a scratch buffer; 1–4 find the k-th largest by a
// radix select over the scores' order-preserving bit patterns, one byte a pass (a 256-bin
// histogram in private memory), keeping the select state in `state` between passes; 5 attends to
// the keys above that value, and to keys equal to it in index order until k are taken, setting a
// bit per key taken in a per-row bitmap (read back after timing as what it attended). Passes,
// because llvmpipe silently ends an invocation's loops after 65,535 iterations in all: one pass
// for everything stopped short past about 10,600 visible keys.
import {
  type AttentionShape,
  headDimWgsl,
  KEY_DOT_UNROLLED,
  KEY_DOT_WGSL,
  laneLoop,
  ONLINE_SOFTMAX_WGSL,
  RADIX_SELECT_WGSL,
  SOFTMAX_ADD_UNROLLED,
} from "../../bench/families/attention/mod.ts";

const WORKGROUP = 64;

/** Passes of one computation (see the file comment). */
export const ORACLE_STAGES = 6;

export function topkOracleWgsl(headDim: number): string {
  return /* wgsl */ `
struct Params { seq: u32, heads: u32, causal: u32, row_offset: u32, rows: u32, scale: f32, density: f32, queries: u32, stage: u32, words: u32, bits_row0: u32, bits_rows: u32 };
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> visited: array<u32>;
@group(0) @binding(5) var<storage, read_write> scratch: array<u32>;
// Per row of the chunk: the threshold's bits found so far, their mask, keys still to take.
@group(0) @binding(6) var<storage, read_write> state: array<vec4<u32>>;
@group(0) @binding(7) var<uniform> p: Params;
// The attend stage's record of the keys it took, for query rows [bits_row0, + bits_rows) of every
// head: 'words' u32 per row, bit j for key j; 'words' is 0 when the case is too large to keep one
// (nothing written then).
@group(0) @binding(8) var<storage, read_write> taken_bits: array<u32>;
${headDimWgsl(headDim)}${KEY_DOT_WGSL}${ONLINE_SOFTMAX_WGSL}${RADIX_SELECT_WGSL}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let local_row = gid.x;
  let head = gid.y;
  if (local_row >= p.rows) { return; }
  let row = p.row_offset + local_row;
  if (row >= p.queries) { return; }
  // Query rows are the last positions: all of them in prefill, a few when decoding.
  let pos = p.seq - p.queries + row;
  var count = p.seq;
  if (p.causal == 1u) { count = pos + 1u; }
  let base = head * p.seq * D4;
  let qrow = (head * p.queries + row) * D4;
  let slot = (head * p.rows + local_row) * p.seq;
  let at = head * p.rows + local_row;
  if (p.stage == 0u) {
    var qr: array<vec4<f32>, D4>;
    for (var i = 0u; i < D4; i++) { qr[i] = q[qrow + i] * p.scale; }
    for (var j = 0u; j < count; j++) { scratch[slot + j] = order_key(key_dot(&qr, base + j * D4)); }
    let keep = min(count, max(1u, u32(floor(p.density * f32(count) + 0.5))));
    state[at] = vec4<u32>(0u, 0u, keep, 0u);
    return;
  }
  let st = state[at];
  let prefix = st.x;
  let prefix_mask = st.y;
  let remaining = st.z;
  if (p.stage <= 4u) {
    // Radix select of the keep-th largest key, most significant byte first.
    let shift = 32u - 8u * p.stage;
    var hist: array<u32, 256>;
    for (var b = 0u; b < 256u; b++) { hist[b] = 0u; }
    for (var j = 0u; j < count; j++) {
      let key = scratch[slot + j];
      if ((key & prefix_mask) == prefix) { hist[(key >> shift) & 255u]++; }
    }
    state[at] = radix_narrow(&hist, st, shift);
    return;
  }
  // 'prefix' is now the keep-th largest key; 'remaining' keys equal to it are taken.
  var acc: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) { acc[i] = vec4<f32>(0.0); }
  var state = softmax_start();
  var ties = remaining;
  var taken = 0u;
  let bits_at = (head * p.bits_rows + row - p.bits_row0) * p.words;
  var bits = 0u;
  for (var j = 0u; j < count; j++) {
    let key = scratch[slot + j];
    var take = key > prefix;
    if (key == prefix && ties > 0u) {
      ties--;
      take = true;
    }
    if (take) {
      softmax_add(&state, &acc, from_order_key(key), base + j * D4);
      taken++;
      bits |= 1u << (j & 31u);
    }
    // A word of the record each 32 keys (and at the row's last), from the same 'take' that
    // attended: the record is what this loop did, not a second selection.
    if (p.words > 0u && ((j & 31u) == 31u || j + 1u == count)) {
      taken_bits[bits_at + j / 32u] = bits;
      bits = 0u;
    }
  }
  for (var i = 0u; i < D4; i++) { o[qrow + i] = acc[i] / state.denom; }
  visited[head * p.queries + row] = taken;
}`;
}

export const ORACLE_WORKGROUP = WORKGROUP;

/**
 * Loop iterations one invocation of any stage runs at most: a row's scores (a dot per key), a
 * radix byte (256 bins, every key, the narrowing), or the attend (a softmax step per key).
 */
export function topkOracleIterations(shape: AttentionShape): number {
  const d = shape.headDim;
  const score = 2 * laneLoop(d) + 1 + shape.seq * (1 + laneLoop(d, KEY_DOT_UNROLLED));
  const radix = 257 + shape.seq + 1 + 257;
  const attend = 3 * laneLoop(d) + 1 + shape.seq * (1 + laneLoop(d, SOFTMAX_ADD_UNROLLED));
  return Math.max(score, radix, attend);
}
