// WGSL every attention kernel shares, once: the float32 four-lane dot products of a query row
// and a key, one step of the online softmax, a row's log-sum-exp, the choice of a query block's
// key blocks, and the order-preserving keys and byte step of the radix top-k selects. Each snippet names the module-scope declarations it expects the kernel to
// have (`const D4`, storage arrays `q`, `k`, `v`, a uniform `p`), so kernels stay one module.

/** WGSL: `const D4`, the vec4 lanes of one row of head dimension `headDim` (a multiple of 4). */
export function headDimWgsl(headDim: number): string {
  return `const D4: u32 = ${headDim / 4}u;\n`;
}

/**
 * WGSL `key_dot(qr, kbase)`: a query row held in private memory (`qr`, D4 vec4s, usually already
 * scaled) dotted with the key at `k[kbase ..]`, in float32: four lanes, then x + y + z + w (the
 * order {@link float32Dot4} repeats on the CPU). Needs `D4` and a storage array `k`.
 */
export const KEY_DOT_WGSL = /* wgsl */ `
fn key_dot(qr: ptr<function, array<vec4<f32>, D4>>, kbase: u32) -> f32 {
  var lanes = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) { lanes += (*qr)[i] * k[kbase + i]; }
  return lanes.x + lanes.y + lanes.z + lanes.w;
}
`;

/**
 * WGSL `stored_key_dot(qrow, kbase)`: like `key_dot` with the query row read from the storage
 * array `q` at `qrow` (unscaled). Needs `D4` and storage arrays `q` and `k`.
 */
export const STORED_KEY_DOT_WGSL = /* wgsl */ `
fn stored_key_dot(qrow: u32, kbase: u32) -> f32 {
  var lanes = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) { lanes += q[qrow + i] * k[kbase + i]; }
  return lanes.x + lanes.y + lanes.z + lanes.w;
}
`;

/**
 * WGSL online softmax over a row's keys in any order, memory O(headDim): `softmax_add(&state,
 * &acc, s, vbase)` folds in the key of scaled score `s` and value `v[vbase ..]`; after the last
 * key, output = acc / state.denom and log-sum-exp = state.running_max + log(state.denom).
 * Start from `softmax_start()` and zeroed `acc`. Needs `D4` and a storage array `v`.
 */
export const ONLINE_SOFTMAX_WGSL = /* wgsl */ `
struct Softmax { running_max: f32, denom: f32 };
fn softmax_start() -> Softmax { return Softmax(-3.0e38, 0.0); }
fn softmax_add(state: ptr<function, Softmax>, acc: ptr<function, array<vec4<f32>, D4>>, s: f32, vbase: u32) {
  let new_max = max((*state).running_max, s);
  let rescale = exp((*state).running_max - new_max);
  let weight = exp(s - new_max);
  (*state).denom = (*state).denom * rescale + weight;
  for (var i = 0u; i < D4; i++) { (*acc)[i] = (*acc)[i] * rescale + weight * v[vbase + i]; }
  (*state).running_max = new_max;
}
`;

/**
 * WGSL `row_lse(qrow, base, last)`: the log-sum-exp of one query row's scaled scores over keys
 * 0..last of the head at `base` (online, in key order), the normaliser of its dense softmax.
 * Needs `D4`, storage arrays `q` and `k` and a uniform `p` with `scale`; includes
 * {@link STORED_KEY_DOT_WGSL}.
 */
export const ROW_LSE_WGSL = STORED_KEY_DOT_WGSL + /* wgsl */ `
fn row_lse(qrow: u32, base: u32, last: u32) -> f32 {
  var running_max = -3.0e38;
  var denom = 0.0;
  for (var j = 0u; j <= last; j++) {
    let s = stored_key_dot(qrow, base + j * D4) * p.scale;
    let new_max = max(running_max, s);
    denom = denom * exp(running_max - new_max) + exp(s - new_max);
    running_max = new_max;
  }
  return running_max + log(denom);
}
`;

// Loop iterations up to which select_blocks takes blocks one at a time: faster on llvmpipe than
// the radix select's private histogram (measured at 256 blocks, 26 kept: 7.6 vs 8.8 ms a pass).
const SELECT_ONE_AT_A_TIME = 16384;

/**
 * WGSL `select_blocks(row_scores, visible, keep, own, out)`: a query block's own key block and
 * the `keep` − 1 best-scoring others among the `visible` ones (scores at `scores[row_scores ..]`,
 * ties to the lower block), written ascending to `chosen[out ..]`; returns how many. The CPU
 * reference is `chooseTopBlocks`. The last block taken (the boundary) is found by taking the best
 * one at a time while that loops at most 16,384 times, otherwise by a radix select of it, a byte
 * at a time, which holds at any budget: about 2,100 + 6 · visible iterations
 * ({@link selectBlocksIterations}), where taking one at a time at density 1 looped
 * visible² times and stopped short at 256 blocks. Needs storage arrays `scores` and `chosen`; includes
 * {@link RADIX_SELECT_WGSL}.
 */
export function blockSelectWgsl(): string {
  return RADIX_SELECT_WGSL + /* wgsl */ `
// The boundary of taking 'want' of the blocks other than 'own' (its score and index): a radix select of the want-th largest score's key (zeros of either sign one key, as they
// compare equal), a byte at a time, then the how-manyth block scoring it. A function of its own:
// inlined into select_blocks, its histogram slowed the one-at-a-time path by 2× on llvmpipe.
struct Boundary { score: f32, index: u32 };
fn radix_boundary(row_scores: u32, visible: u32, own: u32, want: u32) -> Boundary {
  // (threshold, its mask, equal scores still to take)
  var state = vec4<u32>(0u, 0u, want, 0u);
  var hist: array<u32, 256>;
  for (var digit = 0u; digit < 4u; digit++) {
    let shift = 24u - 8u * digit;
    for (var i = 0u; i < 256u; i++) { hist[i] = 0u; }
    for (var b = 0u; b < visible; b++) {
      let s = scores[row_scores + b];
      let key = order_key(select(s, 0.0, s == 0.0));
      if (b != own && (key & state.y) == state.x) { hist[(key >> shift) & 255u]++; }
    }
    state = radix_narrow(&hist, state, shift);
  }
  let bound = from_order_key(state.x);
  var ties = state.z;
  var index = 0u;
  for (var b = 0u; b < visible; b++) {
    if (b == own || scores[row_scores + b] != bound) { continue; }
    index = b;
    ties--;
    if (ties == 0u) { break; }
  }
  return Boundary(bound, index);
}

fn select_blocks(row_scores: u32, visible: u32, keep: u32, own: u32, out: u32) -> u32 {
  // The query block's own (diagonal) block is always kept: local context, and causal rows
  // always see at least themselves. 'want' others join it.
  let others = visible - 1u;
  let want = min(max(keep, 1u), visible) - 1u;
  let partial = want > 0u && want < others;
  // The boundary, in the order blocks are taken (score descending, then index ascending): every
  // other block at or before it is taken.
  var bound = 0.0;
  var bound_index = 0u;
  if (partial && want * (visible + 2u) <= ${SELECT_ONE_AT_A_TIME}u) {
    // One at a time: each round the best block after the previous one in that order.
    var first = true;
    for (var n = 0u; n < want; n++) {
      var best = 0.0;
      var best_index = 0u;
      var found = false;
      for (var b = 0u; b < visible; b++) {
        let s = scores[row_scores + b];
        let after = first || s < bound || (s == bound && b > bound_index);
        if (b != own && after && (!found || s > best)) { best = s; best_index = b; found = true; }
      }
      bound = best;
      bound_index = best_index;
      first = false;
    }
  } else if (partial) {
    let found = radix_boundary(row_scores, visible, own, want);
    bound = found.score;
    bound_index = found.index;
  }
  var count = 0u;
  for (var b = 0u; b < visible; b++) {
    let s = scores[row_scores + b];
    let take = b == own || want >= others ||
      (partial && (s > bound || (s == bound && b <= bound_index)));
    if (take) { chosen[out + count] = b; count++; }
  }
  return count;
}
`;
}

/** Loop iterations one `select_blocks` call runs over `visible` blocks, at most. */
export function selectBlocksIterations(visible: number): number {
  // The boundary search: one at a time (want rounds of visible + 2), or the radix select's four
  // bytes (clear 256 bins, count the others, narrow ≤ 256 bins) and its scan for the boundary;
  // then the sweep. Each loop entered costs one more for its exit.
  return Math.max(SELECT_ONE_AT_A_TIME + 1, 4 * (visible + 516) + visible + 1) + visible + 5;
}

/**
 * WGSL `order_key(x)` / `from_order_key(key)`: a float as a u32 whose unsigned order is the
 * float's order, and back, so radix selects can work on bytes.
 */
export const ORDER_KEY_WGSL = /* wgsl */ `
fn order_key(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  if ((bits & 0x80000000u) != 0u) { return ~bits; }
  return bits | 0x80000000u;
}
fn from_order_key(key: u32) -> f32 {
  if ((key & 0x80000000u) != 0u) { return bitcast<f32>(key & 0x7fffffffu); }
  return bitcast<f32>(~key);
}
`;

/**
 * WGSL `radix_narrow(&hist, state, shift)`: one byte of a radix select of the k-th largest key,
 * most significant byte first. `state` is (prefix found so far, its mask, keys still to take);
 * `hist` counts, among the keys matching the prefix, their byte at `shift`. Returns the state
 * with that byte fixed: the largest bin at which the keys still to take are reached. One pass
 * per byte keeps each invocation's loops short (llvmpipe ends an invocation's loops after 65,535
 * iterations in all). Includes {@link ORDER_KEY_WGSL}.
 */
export const RADIX_SELECT_WGSL = ORDER_KEY_WGSL + /* wgsl */ `
fn radix_narrow(hist: ptr<function, array<u32, 256>>, state: vec4<u32>, shift: u32) -> vec4<u32> {
  var left = state.z;
  var bin = 255u;
  loop {
    if ((*hist)[bin] >= left || bin == 0u) { break; }
    left -= (*hist)[bin];
    bin--;
  }
  return vec4<u32>(state.x | (bin << shift), state.y | (255u << shift), left, 0u);
}
`;
