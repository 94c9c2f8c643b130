// WGSL for SeerAttention's learned block gate, in three passes before the shared block select
// and attend passes: pool and project every key block, pool and project every query block, then
// score each (query block, key block) pair by the dot of the projections. Each invocation sums
// in the same order as seer_learned_gate.ts, so the CPU reference ranks blocks the same way.
import { blockParamsWgsl } from "../../bench/families/attention/mod.ts";
import { gateScale } from "./seer_learned_gate.ts";

const WORKGROUP = 64;

/** Floats of one head's weights: wq (d × gateDim), then wk (3d × gateDim). */
export function gateWeightStride(headDim: number, gateDim: number): number {
  return 4 * headDim * gateDim;
}

function gateCommon(headDim: number, gateDim: number): string {
  return blockParamsWgsl(headDim) + /* wgsl */ `
const D: u32 = ${headDim}u;
const DG: u32 = ${gateDim}u;
const W_STRIDE: u32 = ${gateWeightStride(headDim, gateDim)}u;
`;
}

/** Pass 1: per (key block, head), max, min and mean of its keys, projected by wk. */
export function gateKeysWgsl(headDim: number, gateDim: number): string {
  return gateCommon(headDim, gateDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read_write> kproj: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kb = gid.x;
  let head = gid.y;
  if (kb >= p.blocks) { return; }
  let first = kb * p.block;
  let last = min(first + p.block, p.seq);
  let base = head * p.seq * D;
  var pooled: array<f32, ${3 * headDim}>;
  for (var i = 0u; i < D; i++) {
    var hi = k[base + first * D + i];
    var lo = hi;
    var sum = 0.0;
    for (var j = first; j < last; j++) {
      let x = k[base + j * D + i];
      hi = max(hi, x);
      lo = min(lo, x);
      sum += x;
    }
    pooled[i] = hi;
    pooled[D + i] = lo;
    pooled[2u * D + i] = sum / f32(last - first);
  }
  var acc: array<f32, DG>;
  let w = head * W_STRIDE + D * DG;
  for (var i = 0u; i < 3u * D; i++) {
    let x = pooled[i];
    for (var j = 0u; j < DG; j++) { acc[j] += x * weights[w + i * DG + j]; }
  }
  let out = (head * p.blocks + kb) * DG;
  for (var j = 0u; j < DG; j++) { kproj[out + j] = acc[j]; }
}`;
}

/** Pass 2: per (query block, head), the mean of its query rows, projected by wq. */
export function gateQueriesWgsl(headDim: number, gateDim: number): string {
  return gateCommon(headDim, gateDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read_write> qproj: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.x;
  let head = gid.y;
  if (qb >= p.q_blocks) { return; }
  let first = qb * p.block;
  let last = min(first + p.block, p.queries);
  var acc: array<f32, DG>;
  let w = head * W_STRIDE;
  for (var i = 0u; i < D; i++) {
    var sum = 0.0;
    for (var r = first; r < last; r++) { sum += q[(head * p.queries + r) * D + i]; }
    let x = sum / f32(last - first);
    for (var j = 0u; j < DG; j++) { acc[j] += x * weights[w + i * DG + j]; }
  }
  let out = (head * p.q_blocks + qb) * DG;
  for (var j = 0u; j < DG; j++) { qproj[out + j] = acc[j]; }
}`;
}

/** Pass 3: per (key block, query block, head), the gate's logit; key blocks not visible: -3e38. */
export function gateScoreWgsl(headDim: number, gateDim: number): string {
  return gateCommon(headDim, gateDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> qproj: array<f32>;
@group(0) @binding(1) var<storage, read> kproj: array<f32>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let kb = gid.x;
  let qb = gid.y;
  let head = gid.z;
  if (kb >= p.blocks || qb >= p.q_blocks) { return; }
  let slot = (head * p.q_blocks + qb) * p.blocks + kb;
  if (p.causal == 1u && kb > last_position(qb) / p.block) { scores[slot] = -3.0e38; return; }
  let qo = (head * p.q_blocks + qb) * DG;
  let ko = (head * p.blocks + kb) * DG;
  var dot = 0.0;
  for (var j = 0u; j < DG; j++) { dot += qproj[qo + j] * kproj[ko + j]; }
  scores[slot] = dot * ${gateScale(gateDim)};
}`;
}

export const GATE_WORKGROUP = WORKGROUP;

/**
 * Loop iterations one invocation of each gate pass runs at most, for blocks of `block` keys and
 * rows; every loop counted in full (the head-dim loops are scalar, and hold other loops).
 */
export function gateIterations(
  headDim: number,
  at: { block: number; gateDim: number },
): Record<string, number> {
  const { block, gateDim } = at;
  return {
    // Per element of the head dim, the block's keys; then the 3·d pooled features × gateDim.
    "seer-gate-keys": headDim * (block + 2) + 3 * headDim * (gateDim + 2) + gateDim + 3,
    // Per element, the block's rows and the projection's gateDim.
    "seer-gate-queries": headDim * (block + gateDim + 3) + gateDim + 3,
    "seer-gate-scores": gateDim + 1,
  };
}
