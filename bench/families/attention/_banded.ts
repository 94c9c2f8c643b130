// The plain banded kernel (dense, window, sinks): one invocation per query row, an online softmax
// over the row's key band, so memory stays O(headDim) per query whatever the length. The dense,
// sliding-window and sink + window methods now run the tiled kernel (`_dense_tiled.ts`), which
// reuses each loaded key across several rows; this one is dense-attention-per-query's, the row
// that shows what the tiled loop gained, and `windowBand` is the band both kernels compute.
import type { GpuContext } from "../../gpu/device.ts";
import { createStorage } from "../../gpu/buffers.ts";
import { createAttentionOutputs } from "./_outputs.ts";
import { compilePipeline } from "./_pipelines.ts";
import { bindInOrder, encodePasses, type Pass } from "../../gpu/passes.ts";
import {
  type AttentionGpuInputs,
  type AttentionKernel,
  type AttentionShape,
  queryCount,
  queryOffset,
} from "./_interface.ts";
import { headDimWgsl, KEY_DOT_WGSL, ONLINE_SOFTMAX_WGSL } from "./_wgsl.ts";
import { assertIterationBound, attendKeyIterations, laneLoop } from "./_iteration_bound.ts";

const WORKGROUP = 64;

/**
 * The key band [lo, hi] of `row` for a window of `window` keys, exactly as the banded kernel
 * computes it: the last `window` keys up to the row when causal, otherwise `window` keys centred
 * on it (⌊window/2⌋ before, the rest after).
 *
 * @example
 * ```ts
 * import { windowBand } from "./mod.ts";
 * windowBand({ heads: 1, seq: 10, headDim: 4, causal: true }, 3, 5); // [3, 5]
 * ```
 */
export function windowBand(shape: AttentionShape, window: number, row: number): [number, number] {
  const pos = queryOffset(shape) + row;
  if (shape.causal) return [Math.max(0, pos - window + 1), pos];
  const before = Math.floor(window / 2);
  const after = window - before - 1;
  return [Math.max(0, pos - before), Math.min(shape.seq - 1, pos + after)];
}

/** WGSL for head dimension `headDim` (a multiple of 4). */
export function bandedAttentionWgsl(headDim: number): string {
  return /* wgsl */ `
struct Params { seq: u32, heads: u32, causal: u32, window: u32, scale: f32, sinks: u32, queries: u32 };
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> visited: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;
// Per row the band it attended (lo, hi, sink end), the kernel's own record of its selection.
@group(0) @binding(6) var<storage, read_write> bands: array<u32>;
${headDimWgsl(headDim)}${KEY_DOT_WGSL}${ONLINE_SOFTMAX_WGSL}
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
  var qr: array<vec4<f32>, D4>;
  var acc: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) {
    qr[i] = q[qrow + i] * p.scale;
    acc[i] = vec4<f32>(0.0);
  }
  var state = softmax_start();
  // Sink keys [0, sinks) come first where the band does not already cover them (StreamingLLM).
  let sink_end = min(p.sinks, lo);
  var j = 0u;
  if (sink_end == 0u) { j = lo; }
  loop {
    if (j > hi) { break; }
    let kb = base + j * D4;
    softmax_add(&state, &acc, key_dot(&qr, kb), kb);
    j++;
    if (j == sink_end) { j = lo; }
  }
  for (var i = 0u; i < D4; i++) { o[qrow + i] = acc[i] / state.denom; }
  visited[head * p.queries + row] = hi - lo + 1u + sink_end;
  let at = (head * p.queries + row) * 3u;
  bands[at] = lo;
  bands[at + 1u] = hi;
  bands[at + 2u] = sink_end;
}`;
}

/** What the banded kernel is set up for. */
export interface BandedOptions {
  shape: AttentionShape;
  inputs: AttentionGpuInputs;
  /** Keys per row; 0 means the full (causal) range, i.e. dense attention. */
  window: number;
  /** Leading keys every row attends to besides its band (default 0, none). */
  sinks?: number;
}

/**
 * Compiles the banded kernel for the shape and binds it to the task's inputs.
 *
 * @param gpu the device
 * @param options shape, inputs, window and sinks
 * @returns the kernel
 * @throws {RangeError} when headDim is not a multiple of 4 or exceeds 256, or a row's band is
 *   longer than one invocation can loop over ({@link assertIterationBound})
 */
export async function setupBandedAttention(
  gpu: GpuContext,
  options: BandedOptions,
): Promise<AttentionKernel> {
  const { shape, inputs, window, sinks = 0 } = options;
  if (shape.headDim % 4 !== 0 || shape.headDim > 256) {
    throw new RangeError(
      `Cannot run banded attention as 'headDim' must be a multiple of 4 up to 256: current value is ${shape.headDim}`,
    );
  }
  // The longest band a row loops over: the whole sequence (dense) or the window, plus sinks.
  const keys = Math.min(shape.seq, window > 0 ? window + sinks : shape.seq);
  assertIterationBound(
    "banded-attention",
    2 * laneLoop(shape.headDim) + 1 + keys * attendKeyIterations(shape.headDim),
  );
  const { device } = gpu;
  const { pipeline, compileMs } = await compilePipeline(
    device,
    bandedAttentionWgsl(shape.headDim),
    `banded-attention-d${shape.headDim}`,
  );
  const queries = queryCount(shape);
  const { output, visited } = createAttentionOutputs(device, shape);
  const bands = createStorage(device, shape.heads * queries * 3 * 4, "attention-bands");
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
  const passes: Pass[] = [[
    pipeline,
    bindInOrder(device, pipeline, [inputs.q, inputs.k, inputs.v, output, visited, uniforms, bands]),
    [Math.ceil(queries / WORKGROUP), shape.heads, 1],
  ]];
  return {
    encode: (encoder) => encodePasses(encoder, passes),
    output,
    visited,
    compileMs,
    extraFlops: 0,
    // Written beside `visited` by the timed pass: what each row attended, read back after timing.
    bandChoice: { bands },
    dispose() {
      output.destroy();
      visited.destroy();
      bands.destroy();
      uniforms.destroy();
    },
  };
}
