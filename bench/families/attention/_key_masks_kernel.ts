// WGSL for attention over key bitmaps, for methods that select individual keys (columns,
// diagonals, per-group token sets) rather than whole blocks. One buffer `masks` of u32 words
// holds three sections, each a bitmap of `words` words per entry (bit j of an entry: key j):
//   head section:  per head, keys every row of the head attends to (vertical columns, sinks);
//   diag section:  per head, diagonal offsets o: row at position t attends to key t − o;
//   group section: per group of rows (a query block, a cluster, …), the keys those rows attend to.
// A row attends to the union of its head's columns, its head's diagonals, the local window
// (offsets below `window`) and its group's keys, limited to keys it may see (causal).
// Plain per-invocation loops over global memory, as the other kernels (fastest on llvmpipe); a
// row's keys split into ranges where one invocation could not loop over them all.
import { headDimWgsl, KEY_DOT_WGSL, ONLINE_SOFTMAX_WGSL, RADIX_SELECT_WGSL } from "./_wgsl.ts";
import { attendKeyIterations, laneLoop, LOOP_LIMIT } from "./_iteration_bound.ts";

export const MASKS_WORKGROUP = 64;

/** The uniform layout every key-mask pass shares (8 u32/f32 slots, 32 bytes). */
export const MASKS_PARAMS = /* wgsl */ `
struct Params { seq: u32, heads: u32, causal: u32, queries: u32, words: u32, groups: u32, window: u32, scale: f32 };
fn head_at(head: u32) -> u32 { return head * p.words; }
fn diag_at(head: u32) -> u32 { return (p.heads + head) * p.words; }
fn group_at(group: u32) -> u32 { return (2u * p.heads + group) * p.words; }
`;

/**
 * The uniforms of the attend and merge passes beside MASKS_PARAMS: bitmap words per key range and
 * how many ranges (16 bytes).
 */
const RANGES_PARAMS = /* wgsl */ `
struct Ranges { words: u32, count: u32, pad0: u32, pad1: u32 };
`;

/**
 * Per (query row, head, key range): online-softmax attention over the keys its masks select among
 * the range's `r.words` bitmap words. With one range (`split` false) the row's output and visited
 * count are written directly; otherwise the range's running max, sum, kept-key count and
 * weighted-value sum go to `partials` for {@link maskedMergeWgsl}, as flash-decoding's split-K:
 * one invocation over every kept key of a long row would pass llvmpipe's 65,535 loop iterations
 * (at head dim 128, about 1,900 keys) and stop short.
 */
export function maskedAttendWgsl(headDim: number, options: { split: boolean }): string {
  const out = options.split
    ? `@group(0) @binding(5) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(6) var<uniform> p: Params;
@group(0) @binding(7) var<uniform> r: Ranges;`
    : `@group(0) @binding(5) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> visited: array<u32>;
@group(0) @binding(7) var<uniform> p: Params;
@group(0) @binding(8) var<uniform> r: Ranges;`;
  const epilogue = options.split
    ? `  let at = ((head * p.queries + row) * r.count + range) * (D4 + 1u);
  for (var i = 0u; i < D4; i++) { partials[at + i] = acc[i]; }
  partials[at + D4] = vec4<f32>(state.running_max, state.denom, f32(taken), 0.0);`
    : `  // A row with nothing selected outputs zeros, as the CPU reference does.
  var inv = 0.0;
  if (state.denom > 0.0) { inv = 1.0 / state.denom; }
  for (var i = 0u; i < D4; i++) { o[qrow + i] = acc[i] * inv; }
  visited[head * p.queries + row] = taken;`;
  return MASKS_PARAMS + RANGES_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> row_group: array<u32>;
@group(0) @binding(4) var<storage, read> masks: array<u32>;
${out}
${headDimWgsl(headDim)}${KEY_DOT_WGSL}${ONLINE_SOFTMAX_WGSL}
// Bits i in [lo, hi) of a word, clipped to 0..31.
fn range_bits(lo: i32, hi: i32) -> u32 {
  let a = max(lo, 0);
  let b = min(hi, 32);
  if (a >= b) { return 0u; }
  let width = u32(b - a);
  var ones = 0xffffffffu;
  if (width < 32u) { ones = (1u << width) - 1u; }
  return ones << u32(a);
}

// Bits b..b+31 of the head's diagonal bitmap (bit i of the result: offset b + i), zero outside it.
fn diag_bits(head: u32, b: i32) -> u32 {
  let wi = b >> 5u;
  let lo = u32(b & 31);
  var w0 = 0u;
  var w1 = 0u;
  if (wi >= 0 && wi < i32(p.words)) { w0 = masks[diag_at(head) + u32(wi)]; }
  if (wi + 1 >= 0 && wi + 1 < i32(p.words)) { w1 = masks[diag_at(head) + u32(wi + 1)]; }
  var bits = w0 >> lo;
  if (lo != 0u) { bits |= w1 << (32u - lo); }
  // The local window: offsets 0 .. window-1.
  return bits | range_bits(-b, i32(p.window) - b);
}

@compute @workgroup_size(${MASKS_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let head = gid.y;
  let range = gid.z;
  if (row >= p.queries) { return; }
  let pos = p.seq - p.queries + row;
  var last_key = p.seq - 1u;
  if (p.causal == 1u) { last_key = pos; }
  let group = row_group[head * p.queries + row];
  let base = head * p.seq * D4;
  let qrow = (head * p.queries + row) * D4;
  var qr: array<vec4<f32>, D4>;
  var acc: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) { qr[i] = q[qrow + i] * p.scale; acc[i] = vec4<f32>(0.0); }
  var state = softmax_start();
  var taken = 0u;
  let last_word = last_key / 32u;
  let end_word = min(last_word + 1u, (range + 1u) * r.words);
  for (var w = range * r.words; w < end_word; w++) {
    // Key 32w + t lies on offset pos − 32w − t: bit t is bit 31 − t of diag_bits from pos − 32w − 31.
    var m = masks[head_at(head) + w] | masks[group_at(group) + w]
      | reverseBits(diag_bits(head, i32(pos) - i32(w * 32u) - 31));
    if (w == last_word) { m &= range_bits(0, i32(last_key - w * 32u) + 1); }
    loop {
      if (m == 0u) { break; }
      let j = w * 32u + firstTrailingBit(m);
      m &= m - 1u;
      let kbase = base + j * D4;
      softmax_add(&state, &acc, key_dot(&qr, kbase), kbase);
      taken++;
    }
  }
${epilogue}
}`;
}

/**
 * Per (query row, head): the split attend's ranges combined, as flash-decoding merges split-K
 * partials: each range's sum and weighted values rescaled by exp(its max − the row's max), then
 * output = Σ values / Σ sums, visited = Σ kept keys.
 */
export function maskedMergeWgsl(headDim: number): string {
  return MASKS_PARAMS + RANGES_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> visited: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<uniform> r: Ranges;
${headDimWgsl(headDim)}
@compute @workgroup_size(${MASKS_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let head = gid.y;
  if (row >= p.queries) { return; }
  let first = (head * p.queries + row) * r.count * (D4 + 1u);
  var running_max = -3.0e38;
  for (var n = 0u; n < r.count; n++) {
    running_max = max(running_max, partials[first + n * (D4 + 1u) + D4].x);
  }
  var acc: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) { acc[i] = vec4<f32>(0.0); }
  var denom = 0.0;
  var taken = 0u;
  for (var n = 0u; n < r.count; n++) {
    let at = first + n * (D4 + 1u);
    let st = partials[at + D4];
    // A range with no kept key has sum 0 (and the floor as its max): it adds nothing.
    let weight = exp(st.x - running_max);
    denom += st.y * weight;
    taken += u32(st.z);
    for (var i = 0u; i < D4; i++) { acc[i] += partials[at + i] * weight; }
  }
  // A row with nothing selected outputs zeros, as the CPU reference does.
  var inv = 0.0;
  if (denom > 0.0) { inv = 1.0 / denom; }
  let qrow = (head * p.queries + row) * D4;
  for (var i = 0u; i < D4; i++) { o[qrow + i] = acc[i] * inv; }
  visited[head * p.queries + row] = taken;
}`;
}

/** Loop iterations one invocation of the attend pass runs over `words` bitmap words, at most. */
export function maskedAttendIterations(headDim: number, words: number): number {
  // The lane loops before and after, the word loop; per word its bit loop's exit and up to 32
  // kept keys.
  return 2 * laneLoop(headDim) + 1 + words * (2 + 32 * attendKeyIterations(headDim));
}

/** Loop iterations one invocation of the merge pass runs over `ranges` partials, at most. */
export function maskedMergeIterations(headDim: number, ranges: number): number {
  return 2 * laneLoop(headDim) + 2 + ranges * (3 + laneLoop(headDim));
}

/** The most bitmap words per key range the attend pass can loop over in one invocation. */
export function maxRangeWords(headDim: number): number {
  const perWord = 2 + 32 * attendKeyIterations(headDim);
  return Math.max(1, Math.floor((LOOP_LIMIT - 2 * laneLoop(headDim) - 1) / perWord));
}

/** Loop iterations one invocation of a top-k stage runs over segments of `len` scores, at most. */
export function topkIterations(len: number): number {
  // Stages 1–4: clear 256 bins, count the segment, narrow ≤ 256 bins.
  return 257 + len + 1 + 257 + 1;
}

/**
 * Per segment of `len` scores, the `keep` largest (ties to the lower index; entries at or below
 * −1e38 are never chosen), set as bits i of the segment's bitmap at masks[section + seg·words].
 * `keep` comes from keeps[seg] (so a method can set budgets per segment on the GPU or host).
 * A radix select over the scores' order-preserving bits, one invocation per segment, split into
 * passes by `sel.stage` — 0: count the eligible; 1–4: one byte of the threshold each; 5: set the
 * bits — with the select state in `state` between passes. Split because llvmpipe silently ends a
 * shader invocation's loops after 65,535 iterations in all: each pass loops about `len` times.
 */
export function topkToMaskWgsl(): string {
  return MASKS_PARAMS + /* wgsl */ `
struct Select { segments: u32, len: u32, stride: u32, section: u32, stage: u32 };
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read> keeps: array<u32>;
@group(0) @binding(2) var<storage, read_write> masks: array<u32>;
// Per segment: the threshold's bits found so far, their mask, and how many keys are still to take.
@group(0) @binding(3) var<storage, read_write> state: array<vec4<u32>>;
@group(0) @binding(4) var<uniform> p: Params;
@group(0) @binding(5) var<uniform> sel: Select;
${RADIX_SELECT_WGSL}
@compute @workgroup_size(${MASKS_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let seg = gid.x;
  if (seg >= sel.segments) { return; }
  let at = seg * sel.stride;
  if (sel.stage == 0u) {
    let floor_key = order_key(-1.0e38);
    var eligible = 0u;
    for (var j = 0u; j < sel.len; j++) { if (order_key(scores[at + j]) > floor_key) { eligible++; } }
    state[seg] = vec4<u32>(0u, 0u, min(keeps[seg], eligible), 0u);
    return;
  }
  let st = state[seg];
  let prefix = st.x;
  let prefix_mask = st.y;
  let remaining = st.z;
  if (remaining == 0u) { return; }
  if (sel.stage <= 4u) {
    let shift = 32u - 8u * sel.stage;
    var hist: array<u32, 256>;
    for (var b = 0u; b < 256u; b++) { hist[b] = 0u; }
    for (var j = 0u; j < sel.len; j++) {
      let key = order_key(scores[at + j]);
      if ((key & prefix_mask) == prefix) { hist[(key >> shift) & 255u]++; }
    }
    state[seg] = radix_narrow(&hist, st, shift);
    return;
  }
  // 'prefix' is now the keep-th largest key; 'remaining' keys equal to it are taken.
  let out = sel.section + seg * p.words;
  var ties = remaining;
  for (var j = 0u; j < sel.len; j++) {
    let key = order_key(scores[at + j]);
    if (key < prefix) { continue; }
    if (key == prefix) {
      if (ties == 0u) { continue; }
      ties--;
    }
    masks[out + j / 32u] |= 1u << (j % 32u);
  }
}`;
}

/** Passes of the top-k select (see topkToMaskWgsl). */
export const TOPK_STAGES = 6;
