// The WGSL kernel behind dense, sliding-window and sink + window attention: one invocation per query row, an
// online softmax over the row's key band, so memory stays O(headDim) per query whatever the length.
// On the software adapter this simple form beat workgroup-tiled variants (see DESIGN.md).
import type { GpuContext } from "../../bench/gpu/device.ts";
import { compileCompute, createStorage } from "../../bench/gpu/buffers.ts";
import {
  type AttentionGpuInputs,
  type AttentionKernel,
  type AttentionShape,
  queryCount,
} from "./interface.ts";

const WORKGROUP = 64;

/** WGSL for head dimension `headDim` (a multiple of 4). */
export function bandedAttentionWgsl(headDim: number): string {
  const d4 = headDim / 4;
  return /* wgsl */ `
struct Params { seq: u32, heads: u32, causal: u32, window: u32, scale: f32, sinks: u32, queries: u32 };
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> visited: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;
const D4: u32 = ${d4}u;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let head = gid.y;
  if (row >= p.queries) { return; }
  // Query rows are the last positions: all of them in prefill, a few when decoding.
  let pos = p.seq - p.queries + row;
  // Key band [lo, hi]: the whole causal prefix (or sequence) when window is 0; otherwise the last
  // 'window' keys up to the row (causal) or 'window' keys centred on it (non-causal).
  var lo = 0u;
  var hi = p.seq - 1u;
  if (p.causal == 1u) {
    hi = pos;
    if (p.window > 0u && pos + 1u > p.window) { lo = pos + 1u - p.window; }
  } else if (p.window > 0u) {
    let before = p.window / 2u;
    let after = p.window - before - 1u;
    if (pos > before) { lo = pos - before; }
    hi = min(p.seq - 1u, pos + after);
  }
  let base = head * p.seq * D4;
  let qrow = (head * p.queries + row) * D4;
  var qr: array<vec4<f32>, ${d4}>;
  var acc: array<vec4<f32>, ${d4}>;
  for (var i = 0u; i < D4; i++) {
    qr[i] = q[qrow + i] * p.scale;
    acc[i] = vec4<f32>(0.0);
  }
  var running_max = -3.0e38;
  var denom = 0.0;
  // Sink keys [0, sinks) come first where the band does not already cover them (StreamingLLM).
  let sink_end = min(p.sinks, lo);
  var j = 0u;
  if (sink_end == 0u) { j = lo; }
  loop {
    if (j > hi) { break; }
    let kb = base + j * D4;
    var dot4 = vec4<f32>(0.0);
    for (var i = 0u; i < D4; i++) { dot4 += qr[i] * k[kb + i]; }
    let s = dot4.x + dot4.y + dot4.z + dot4.w;
    let new_max = max(running_max, s);
    let rescale = exp(running_max - new_max);
    let weight = exp(s - new_max);
    denom = denom * rescale + weight;
    for (var i = 0u; i < D4; i++) { acc[i] = acc[i] * rescale + weight * v[kb + i]; }
    running_max = new_max;
    j++;
    if (j == sink_end) { j = lo; }
  }
  for (var i = 0u; i < D4; i++) { o[qrow + i] = acc[i] / denom; }
  visited[head * p.queries + row] = hi - lo + 1u + sink_end;
}`;
}

/**
 * Compiles the banded kernel for `shape` and binds it to the task's inputs.
 *
 * @param window keys per row; 0 means the full (causal) range, i.e. dense attention
 * @param sinks leading keys every row attends to besides its band (0 for none)
 * @throws {RangeError} when headDim is not a multiple of 4 or exceeds 256
 */
export async function setupBandedAttention(
  gpu: GpuContext,
  shape: AttentionShape,
  inputs: AttentionGpuInputs,
  window: number,
  sinks = 0,
): Promise<AttentionKernel> {
  if (shape.headDim % 4 !== 0 || shape.headDim > 256) {
    throw new RangeError(
      `Cannot run banded attention as 'headDim' must be a multiple of 4 up to 256: current value is ${shape.headDim}`,
    );
  }
  const { device } = gpu;
  const { pipeline, compileMs } = await compileCompute(
    device,
    bandedAttentionWgsl(shape.headDim),
    `banded-attention-d${shape.headDim}`,
  );
  const queries = queryCount(shape);
  const output = createStorage(
    device,
    shape.heads * queries * shape.headDim * 4,
    "attention-output",
  );
  const visited = createStorage(device, shape.heads * queries * 4, "attention-visited");
  const uniforms = device.createBuffer({
    size: 32,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const params = new DataView(new ArrayBuffer(32));
  params.setUint32(0, shape.seq, true);
  params.setUint32(4, shape.heads, true);
  params.setUint32(8, shape.causal ? 1 : 0, true);
  params.setUint32(12, window, true);
  params.setFloat32(16, 1 / Math.sqrt(shape.headDim), true);
  params.setUint32(20, sinks, true);
  params.setUint32(24, queries, true);
  device.queue.writeBuffer(uniforms, 0, params.buffer);
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [inputs.q, inputs.k, inputs.v, output, visited, uniforms].map((buffer, binding) => ({
      binding,
      resource: { buffer },
    })),
  });
  const groups = Math.ceil(queries / WORKGROUP);
  return {
    encode(encoder) {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(groups, shape.heads);
      pass.end();
    },
    output,
    visited,
    compileMs,
    extraFlops: 0,
    dispose() {
      output.destroy();
      visited.destroy();
      uniforms.destroy();
    },
  };
}
