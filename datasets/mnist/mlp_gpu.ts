// The MLP's forward pass on WebGPU: one dispatch per Linear layer (bias and ReLU fused). The weights uploaded are the effective (masked) ones, so a pruned
// model runs through the same dense kernel: no FLOPs are skipped.
import { compileCompute, createStorage, readBack, uploadStorage } from "../../bench/gpu/buffers.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import type { Mlp } from "../../bench/nn/mlp.ts";

// Each invocation computes a 4×4 block of outputs (4 rows × 4 output features) from vec4 loads;
// reads past the last row or feature are clamped to it and their results never written. The
// input width must be a multiple of 4 (784, 300 and 100 are).
const WGSL = /* wgsl */ `
struct Dims { rows: u32, inF: u32, outF: u32, relu: u32 }
@group(0) @binding(0) var<storage, read> x: array<vec4f>;
@group(0) @binding(1) var<storage, read> w: array<vec4f>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> dims: Dims;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j0 = gid.x * 4u;
  let r0 = gid.y * 4u;
  if (j0 >= dims.outF || r0 >= dims.rows) { return; }
  let k4 = dims.inF / 4u;
  let lastRow = dims.rows - 1u;
  let lastCol = dims.outF - 1u;
  var xr = vec4u(r0, min(r0 + 1u, lastRow), min(r0 + 2u, lastRow), min(r0 + 3u, lastRow)) * k4;
  var wr = vec4u(j0, min(j0 + 1u, lastCol), min(j0 + 2u, lastCol), min(j0 + 3u, lastCol)) * k4;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k = 0u; k < k4; k++) {
    let w0 = w[wr.x + k];
    let w1 = w[wr.y + k];
    let w2 = w[wr.z + k];
    let w3 = w[wr.w + k];
    let x0 = x[xr.x + k];
    let x1 = x[xr.y + k];
    let x2 = x[xr.z + k];
    let x3 = x[xr.w + k];
    acc0 += vec4f(dot(x0, w0), dot(x0, w1), dot(x0, w2), dot(x0, w3));
    acc1 += vec4f(dot(x1, w0), dot(x1, w1), dot(x1, w2), dot(x1, w3));
    acc2 += vec4f(dot(x2, w0), dot(x2, w1), dot(x2, w2), dot(x2, w3));
    acc3 += vec4f(dot(x3, w0), dot(x3, w1), dot(x3, w2), dot(x3, w3));
  }
  let rows = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r > lastRow) { break; }
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + c;
      if (j > lastCol) { break; }
      var s = rows[i][c] + b[j];
      if (dims.relu == 1u && s < 0.0) { s = 0.0; }
      y[r * dims.outF + j] = s;
    }
  }
}`;

/** An MLP uploaded for one batch size: `encode` records a forward pass, `logits` holds its output. */
export interface GpuMlp {
  encode(encoder: GPUCommandEncoder): void;
  readLogits(): Promise<Float32Array>;
  compileMs: number;
  uploadMs: number;
  /** Multiply-adds ×2 of one forward pass. */
  flops: number;
  dispose(): void;
}

/** Uploads `model`'s effective weights and `input` [rows × features] and compiles the kernel. */
export async function createGpuMlp(
  gpu: GpuContext,
  model: Mlp,
  input: Float32Array,
  rows: number,
): Promise<GpuMlp> {
  const odd = model.layers.find((l) => l.inFeatures % 4 !== 0);
  if (odd) {
    throw new RangeError(
      `Cannot run ${odd.weight.name} on the GPU as its input width must be a multiple of 4: got ${odd.inFeatures}`,
    );
  }
  const { device } = gpu;
  const { pipeline, compileMs } = await compileCompute(device, WGSL, "mlp-linear");
  const start = performance.now();
  const buffers: GPUBuffer[] = [];
  const keep = (b: GPUBuffer) => (buffers.push(b), b);
  let x = keep(uploadStorage(device, input, "mlp-input"));
  const passes: { bind: GPUBindGroup; groups: [number, number] }[] = [];
  let flops = 0;
  model.layers.forEach((layer, i) => {
    const y = keep(createStorage(device, rows * layer.outFeatures * 4, `mlp-h${i + 1}`));
    const dims = keep(
      device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }),
    );
    const relu = i < model.layers.length - 1 ? 1 : 0;
    device.queue.writeBuffer(
      dims,
      0,
      new Uint32Array([rows, layer.inFeatures, layer.outFeatures, relu]),
    );
    const bias = layer.bias ? layer.bias.data : new Float32Array(layer.outFeatures);
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: x } },
        {
          binding: 1,
          resource: { buffer: keep(uploadStorage(device, layer.weight.effective(), `w${i + 1}`)) },
        },
        { binding: 2, resource: { buffer: keep(uploadStorage(device, bias, `b${i + 1}`)) } },
        { binding: 3, resource: { buffer: y } },
        { binding: 4, resource: { buffer: dims } },
      ],
    });
    passes.push({
      bind,
      groups: [Math.ceil(layer.outFeatures / 32), Math.ceil(rows / 32)],
    });
    flops += 2 * rows * layer.inFeatures * layer.outFeatures;
    x = y;
  });
  const output = x;
  const outBytes = rows * model.sizes[model.sizes.length - 1] * 4;
  await device.queue.onSubmittedWorkDone();
  const uploadMs = performance.now() - start;
  return {
    encode(encoder) {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      for (const p of passes) {
        pass.setBindGroup(0, p.bind);
        pass.dispatchWorkgroups(p.groups[0], p.groups[1]);
      }
      pass.end();
    },
    async readLogits() {
      return new Float32Array(await readBack(device, output, outBytes));
    },
    compileMs,
    uploadMs,
    flops,
    dispose() {
      for (const b of buffers) b.destroy();
    },
  };
}
