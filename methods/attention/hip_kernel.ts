// WGSL for HiP's hierarchical top-k key selection. One invocation per (query block, head) runs
// the whole tree search: k chunks of key blocks cover the keys the query block can see; at each
// level every chunk splits in two, each half is scored by one representative key (q·k maximised
// over the block's query rows), and the best k halves (ties to the earlier one, by a 4-pass radix
// select as key_masks_kernel.ts's top-k pass) survive, until every chunk is a single key block.
// The chosen key blocks become the bits of the query block's group bitmap; the shared attend pass
// (key_masks_kernel.ts) then attends to them and the local window.
import { MASKS_PARAMS } from "./key_masks_kernel.ts";

export const HIP_WORKGROUP = 16;

/**
 * `stride`: the most chunks any query block keeps (kMax). Per (query block, head) the `chunks`
 * buffer holds kept starts, kept ends (kMax each), candidate starts, candidate ends (2·kMax each),
 * all in key blocks; `scores` holds the 2·kMax candidate scores.
 */
export function hipSelectWgsl(headDim: number): string {
  return MASKS_PARAMS + /* wgsl */ `
struct Hip { block_q: u32, block_k: u32, density: f32, q_blocks: u32, stride: u32, middle: u32 };
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> masks: array<u32>;
@group(0) @binding(3) var<storage, read_write> chunks: array<u32>;
@group(0) @binding(4) var<storage, read_write> scores: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
@group(0) @binding(6) var<uniform> hip: Hip;
const D4: u32 = ${headDim / 4}u;

fn order_key(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  if ((bits & 0x80000000u) != 0u) { return ~bits; }
  return bits | 0x80000000u;
}

@compute @workgroup_size(${HIP_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.x;
  let head = gid.y;
  if (qb >= hip.q_blocks) { return; }
  let first_row = qb * hip.block_q;
  let last_row = min(first_row + hip.block_q, p.queries) - 1u;
  var visible = p.seq;
  if (p.causal == 1u) { visible = p.seq - p.queries + last_row + 1u; }
  let bk = hip.block_k;
  let n = (visible + bk - 1u) / bk;
  let want = min(visible, max(1u, u32(floor(hip.density * f32(visible) + 0.5))));
  let keep = min(n, (want + bk - 1u) / bk);
  let out = group_at(head * hip.q_blocks + qb);
  if (keep == n) {
    for (var j = 0u; j < visible; j++) { masks[out + j / 32u] |= 1u << (j % 32u); }
    return;
  }
  let base = (head * hip.q_blocks + qb) * 6u * hip.stride;
  let kept_s = base;
  let kept_e = base + hip.stride;
  let cand_s = base + 2u * hip.stride;
  let cand_e = base + 4u * hip.stride;
  let score_at = (head * hip.q_blocks + qb) * 2u * hip.stride;
  // Level 0: k chunks covering the n key blocks evenly.
  for (var i = 0u; i < keep; i++) {
    chunks[kept_s + i] = i * n / keep;
    chunks[kept_e + i] = (i + 1u) * n / keep;
  }
  let kbase = head * p.seq * D4;
  let qbase = head * p.queries * D4;
  var hist: array<u32, 256>;
  loop {
    // Split every chunk of more than one key block into halves (the left takes the odd one).
    var count = 0u;
    var split = false;
    for (var i = 0u; i < keep; i++) {
      let s = chunks[kept_s + i];
      let e = chunks[kept_e + i];
      if (e - s > 1u) {
        let m = s + (e - s + 1u) / 2u;
        chunks[cand_s + count] = s;
        chunks[cand_e + count] = m;
        chunks[cand_s + count + 1u] = m;
        chunks[cand_e + count + 1u] = e;
        count += 2u;
        split = true;
      } else {
        chunks[cand_s + count] = s;
        chunks[cand_e + count] = e;
        count += 1u;
      }
    }
    if (!split) { break; }
    // Each candidate's score: its representative key against every row of the query block.
    for (var c = 0u; c < count; c++) {
      let ks = chunks[cand_s + c] * bk;
      let ke = min(chunks[cand_e + c] * bk, visible);
      var rep = ks;
      if (hip.middle == 1u) { rep = ks + (ke - ks) / 2u; }
      var best = -3.0e38;
      for (var row = first_row; row <= last_row; row++) {
        var dot4 = vec4<f32>(0.0);
        for (var i = 0u; i < D4; i++) { dot4 += q[qbase + row * D4 + i] * k[kbase + rep * D4 + i]; }
        best = max(best, dot4.x + dot4.y + dot4.z + dot4.w);
      }
      scores[score_at + c] = best;
    }
    // Radix select of the keep-th largest score, most significant byte first.
    var prefix = 0u;
    var prefix_mask = 0u;
    var remaining = keep;
    for (var round = 0u; round < 4u; round++) {
      let shift = 24u - round * 8u;
      for (var b = 0u; b < 256u; b++) { hist[b] = 0u; }
      for (var c = 0u; c < count; c++) {
        let key = order_key(scores[score_at + c]);
        if ((key & prefix_mask) == prefix) { hist[(key >> shift) & 255u]++; }
      }
      var bin = 255u;
      loop {
        if (hist[bin] >= remaining || bin == 0u) { break; }
        remaining -= hist[bin];
        bin--;
      }
      prefix |= bin << shift;
      prefix_mask |= 255u << shift;
    }
    // Survivors, in candidate (position) order: above the k-th score, and equal ones earliest first.
    var ties = remaining;
    var kept = 0u;
    for (var c = 0u; c < count; c++) {
      let key = order_key(scores[score_at + c]);
      if (key < prefix) { continue; }
      if (key == prefix) {
        if (ties == 0u) { continue; }
        ties--;
      }
      chunks[kept_s + kept] = chunks[cand_s + c];
      chunks[kept_e + kept] = chunks[cand_e + c];
      kept++;
    }
  }
  for (var i = 0u; i < keep; i++) {
    let ks = chunks[kept_s + i] * bk;
    let ke = min(ks + bk, visible);
    for (var j = ks; j < ke; j++) { masks[out + j / 32u] |= 1u << (j % 32u); }
  }
}`;
}
