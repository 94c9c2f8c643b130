// WGSL for Dynamic Mask Attention's content-aware scores on the family's key masks: per (key, head), the
// projection of the key's value onto the head's fixed direction, which topkPass then ranks per
// head. The key masks' attend pass only touches the selected keys (DMA's skipped regions).
import { laneLoop, MASKS_PARAMS, MASKS_WORKGROUP } from "../../bench/families/attention/mod.ts";

export const DMA_WORKGROUP = MASKS_WORKGROUP;

/** Per (key j, head h): v_j · w_h, as a 4-lane dot summed (x + y) + z + w. */
export function valueScoreWgsl(headDim: number): string {
  return MASKS_PARAMS + /* wgsl */ `
@group(0) @binding(0) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
const D4: u32 = ${headDim / 4}u;

@compute @workgroup_size(${DMA_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let head = gid.y;
  if (j >= p.seq) { return; }
  let base = (head * p.seq + j) * D4;
  var s4 = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) { s4 += v[base + i] * w[head * D4 + i]; }
  scores[head * p.seq + j] = s4.x + s4.y + s4.z + s4.w;
}`;
}

/** Loop iterations one invocation of the value-score pass runs: one lane loop. */
export function valueScoreIterations(headDim: number): number {
  return laneLoop(headDim) + 1;
}
