// The MoE layer after its gate on WebGPU: the routing's slots permuted by expert (a stable count
// and scatter per chunk of slots and expert), a grouped expert FFN over every expert's tokens in one dispatch per
// product (each row reads its own expert's weights; no padding to a capacity), and the weighted
// combine into the residual. The gate runs on the CPU (the method's own `route`) and its routing
// is uploaded before the timed passes; its plain reference is `moeLayerReference`.
import { compileCompute, createStorage, readBack, uploadStorage } from "../../gpu/buffers.ts";
import type { GpuContext } from "../../gpu/device.ts";
import { bindInOrder, encodePasses, type Pass } from "../../gpu/passes.ts";
import type { Routing } from "./_interface.ts";
import type { MoeLayer } from "./_layer.ts";

/** llvmpipe silently ends a shader invocation's loops after 65,535 iterations. */
export const MAX_GPU_LOOP = 65_535;

const WG = 64;
/** Workgroups in one dimension of a dispatch (WebGPU's default limit). */
const MAX_DISPATCH = 65_535;

// Uniform: tokens, k, experts, dim, hidden (padded to 8 u32).
const PARAMS_WGSL = /* wgsl */ `
struct P { tokens: u32, k: u32, experts: u32, dim: u32, hidden: u32, p0: u32, p1: u32, p2: u32 };
@group(0) @binding(0) var<uniform> p: P;
`;

/**
 * Slots per chunk of the permutation: each invocation scans one chunk for one expert, so no loop
 * runs past llvmpipe's limit however many slots there are.
 */
const CHUNK = 4096;

/** One invocation per (chunk, expert): how many of the chunk's slots the expert takes. */
const COUNT_WGSL = PARAMS_WGSL + /* wgsl */ `
@group(0) @binding(1) var<storage, read> slotExpert: array<i32>;
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let slots = p.tokens * p.k;
  let chunks = (slots + ${CHUNK}u - 1u) / ${CHUNK}u;
  let e = id.x % p.experts;
  let c = id.x / p.experts;
  if (c >= chunks) { return; }
  let end = min(slots, (c + 1u) * ${CHUNK}u);
  var n = 0u;
  for (var s = c * ${CHUNK}u; s < end; s++) {
    if (slotExpert[s] == i32(e)) { n++; }
  }
  counts[c * p.experts + e] = n;
}`;

/**
 * One invocation: each (chunk, expert)'s first row, expert-major then chunk order (so the
 * permutation stays stable in slot order), and offsets[e] (offsets[E] = slots routed).
 */
const OFFSETS_WGSL = PARAMS_WGSL + /* wgsl */ `
@group(0) @binding(1) var<storage, read> counts: array<u32>;
@group(0) @binding(2) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> chunkStart: array<u32>;
@compute @workgroup_size(1)
fn main() {
  let chunks = (p.tokens * p.k + ${CHUNK}u - 1u) / ${CHUNK}u;
  var run = 0u;
  for (var e = 0u; e < p.experts; e++) {
    offsets[e] = run;
    for (var c = 0u; c < chunks; c++) {
      chunkStart[c * p.experts + e] = run;
      run += counts[c * p.experts + e];
    }
  }
  offsets[p.experts] = run;
}`;

/**
 * One invocation per (chunk, expert): its slots of the chunk, in slot order, written from the
 * chunk's first row (the permutation: row → slot, row → expert) and each slot's row (its
 * inverse, −1 for an empty slot).
 */
const SCATTER_WGSL = PARAMS_WGSL + /* wgsl */ `
@group(0) @binding(1) var<storage, read> slotExpert: array<i32>;
@group(0) @binding(2) var<storage, read> chunkStart: array<u32>;
@group(0) @binding(3) var<storage, read_write> rowSlot: array<u32>;
@group(0) @binding(4) var<storage, read_write> rowExpert: array<u32>;
@group(0) @binding(5) var<storage, read_write> slotRow: array<i32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let slots = p.tokens * p.k;
  let chunks = (slots + ${CHUNK}u - 1u) / ${CHUNK}u;
  let e = id.x % p.experts;
  let c = id.x / p.experts;
  if (c >= chunks) { return; }
  let end = min(slots, (c + 1u) * ${CHUNK}u);
  var r = chunkStart[c * p.experts + e];
  for (var s = c * ${CHUNK}u; s < end; s++) {
    let x = slotExpert[s];
    if (x == i32(e)) {
      rowSlot[r] = s;
      rowExpert[r] = e;
      slotRow[s] = i32(r);
      r++;
    } else if (x < 0 && e == 0u) {
      slotRow[s] = -1;
    }
  }
}`;

/** a[row, i] = relu(b1[e, i] + Σ_j W1[e, i, j]·h[token, j]) over every routed row of every expert. */
const FC1_WGSL = PARAMS_WGSL + /* wgsl */ `
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> w1: array<f32>;
@group(0) @binding(3) var<storage, read> b1: array<f32>;
@group(0) @binding(4) var<storage, read> offsets: array<u32>;
@group(0) @binding(5) var<storage, read> rowSlot: array<u32>;
@group(0) @binding(6) var<storage, read> rowExpert: array<u32>;
@group(0) @binding(7) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let flat = id.x + id.y * grid.x * ${WG}u;
  let i = flat % p.hidden;
  let row = flat / p.hidden;
  if (row >= offsets[p.experts]) { return; }
  let e = rowExpert[row];
  let t = rowSlot[row] / p.k;
  let wBase = (e * p.hidden + i) * p.dim;
  var sum = b1[e * p.hidden + i];
  for (var j = 0u; j < p.dim; j++) { sum += w1[wBase + j] * h[t * p.dim + j]; }
  a[row * p.hidden + i] = max(sum, 0.0);
}`;

/** o[row, j] = b2[e, j] + Σ_i W2[e, j, i]·a[row, i]. */
const FC2_WGSL = PARAMS_WGSL + /* wgsl */ `
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w2: array<f32>;
@group(0) @binding(3) var<storage, read> b2: array<f32>;
@group(0) @binding(4) var<storage, read> offsets: array<u32>;
@group(0) @binding(5) var<storage, read> rowExpert: array<u32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let flat = id.x + id.y * grid.x * ${WG}u;
  let j = flat % p.dim;
  let row = flat / p.dim;
  if (row >= offsets[p.experts]) { return; }
  let e = rowExpert[row];
  let wBase = (e * p.dim + j) * p.hidden;
  var sum = b2[e * p.dim + j];
  for (var i = 0u; i < p.hidden; i++) { sum += w2[wBase + i] * a[row * p.hidden + i]; }
  o[row * p.dim + j] = sum;
}`;

/** y[t, j] = h[t, j] + Σ_slots w·o[row(slot), j], slots in order (as the CPU layer sums). */
const COMBINE_WGSL = PARAMS_WGSL + /* wgsl */ `
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read> slotRow: array<i32>;
@group(0) @binding(4) var<storage, read> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let flat = id.x + id.y * grid.x * ${WG}u;
  let j = flat % p.dim;
  let t = flat / p.dim;
  if (t >= p.tokens) { return; }
  var sum = h[t * p.dim + j];
  for (var s = 0u; s < p.k; s++) {
    let r = slotRow[t * p.k + s];
    if (r >= 0) { sum += weights[t * p.k + s] * o[u32(r) * p.dim + j]; }
  }
  y[t * p.dim + j] = sum;
}`;

/** The layer's experts and one batch's buffers on the device, ready to encode. */
export interface GpuMoeLayer {
  /** Uploads a routing of the bound batch (outside the timed passes). */
  setRouting(routing: Routing): void;
  /** Records the permutation, the grouped FFN and the combine. */
  encode(encoder: GPUCommandEncoder): void;
  /** The layer's output [tokens × dim], read back. */
  readOutput(): Promise<Float32Array>;
  compileMs: number;
  uploadMs: number;
  dispose(): void;
}

/**
 * Uploads `layer`'s experts and a batch `h` [tokens × dim] with room for `k` slots per token.
 *
 * @throws {RangeError} when the offsets pass would loop past llvmpipe's limit (more than 65,535
 *   chunks of 4,096 slots)
 */
export async function createGpuMoeLayer(
  gpu: GpuContext,
  layer: MoeLayer,
  batch: { h: Float32Array; tokens: number; k: number },
): Promise<GpuMoeLayer> {
  const { device } = gpu, { dim, hidden, experts } = layer.shape, { tokens, k } = batch;
  const chunks = Math.max(1, Math.ceil(tokens * k / CHUNK));
  if (chunks > MAX_GPU_LOOP) {
    throw new RangeError(
      `Cannot route ${tokens} tokens × ${k} slots on the GPU: ${chunks} chunks of ${CHUNK} slots, at most ${MAX_GPU_LOOP}`,
    );
  }
  const start = performance.now();
  const w1 = new Float32Array(experts * hidden * dim), b1 = new Float32Array(experts * hidden);
  const w2 = new Float32Array(experts * dim * hidden), b2 = new Float32Array(experts * dim);
  layer.experts.forEach((ex, e) => {
    w1.set(ex.fc1.weight.data, e * hidden * dim);
    b1.set(ex.fc1.bias!.data, e * hidden);
    w2.set(ex.fc2.weight.data, e * dim * hidden);
    b2.set(ex.fc2.bias!.data, e * dim);
  });
  const params = device.createBuffer({
    size: 32,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(params, 0, Uint32Array.from([tokens, k, experts, dim, hidden, 0, 0, 0]));
  const slots = tokens * k;
  const buffers = {
    h: uploadStorage(device, batch.h.subarray(0, tokens * dim), "moe h"),
    w1: uploadStorage(device, w1, "moe w1"),
    b1: uploadStorage(device, b1, "moe b1"),
    w2: uploadStorage(device, w2, "moe w2"),
    b2: uploadStorage(device, b2, "moe b2"),
    slotExpert: createStorage(device, slots * 4, "moe slot experts"),
    weights: createStorage(device, slots * 4, "moe slot weights"),
    counts: createStorage(device, chunks * experts * 4, "moe counts"),
    chunkStart: createStorage(device, chunks * experts * 4, "moe chunk starts"),
    offsets: createStorage(device, (experts + 1) * 4, "moe offsets"),
    rowSlot: createStorage(device, slots * 4, "moe row slot"),
    rowExpert: createStorage(device, slots * 4, "moe row expert"),
    slotRow: createStorage(device, slots * 4, "moe slot row"),
    a: createStorage(device, slots * hidden * 4, "moe hidden"),
    o: createStorage(device, slots * dim * 4, "moe expert out"),
    y: createStorage(device, tokens * dim * 4, "moe y"),
  };
  const uploadMs = performance.now() - start;
  const compiled = await Promise.all(
    [COUNT_WGSL, OFFSETS_WGSL, SCATTER_WGSL, FC1_WGSL, FC2_WGSL, COMBINE_WGSL].map((code, i) =>
      compileCompute(device, code, `moe pass ${i}`)
    ),
  );
  const [count, offsets, scatter, fc1, fc2, combine] = compiled.map((c) => c.pipeline);
  const b = buffers, groups = (n: number) => Math.max(1, Math.ceil(n / WG));
  // Row-parallel passes spread their workgroups over a 2-D grid (a dimension holds at most 65,535);
  // each invocation rebuilds its flat index, and the ones past the end return.
  const grid = (n: number): [number, number, number] => {
    const total = groups(n), x = Math.min(total, MAX_DISPATCH);
    return [x, Math.ceil(total / x), 1];
  };
  const passes: Pass[] = [
    [
      count,
      bindInOrder(device, count, [params, b.slotExpert, b.counts]),
      [groups(chunks * experts), 1, 1],
    ],
    [
      offsets,
      bindInOrder(device, offsets, [params, b.counts, b.offsets, b.chunkStart]),
      [1, 1, 1],
    ],
    [
      scatter,
      bindInOrder(device, scatter, [
        params,
        b.slotExpert,
        b.chunkStart,
        b.rowSlot,
        b.rowExpert,
        b.slotRow,
      ]),
      [groups(chunks * experts), 1, 1],
    ],
    [
      fc1,
      bindInOrder(device, fc1, [
        params,
        b.h,
        b.w1,
        b.b1,
        b.offsets,
        b.rowSlot,
        b.rowExpert,
        b.a,
      ]),
      grid(slots * hidden),
    ],
    [
      fc2,
      bindInOrder(device, fc2, [params, b.a, b.w2, b.b2, b.offsets, b.rowExpert, b.o]),
      grid(slots * dim),
    ],
    [
      combine,
      bindInOrder(device, combine, [params, b.h, b.weights, b.slotRow, b.o, b.y]),
      grid(tokens * dim),
    ],
  ];
  return {
    setRouting(routing) {
      if (routing.tokens !== tokens || routing.k !== k) {
        throw new RangeError(
          `Cannot upload a ${routing.tokens}×${routing.k} routing into a ${tokens}×${k} layer`,
        );
      }
      device.queue.writeBuffer(b.slotExpert, 0, routing.experts as Int32Array<ArrayBuffer>);
      device.queue.writeBuffer(b.weights, 0, routing.weights as Float32Array<ArrayBuffer>);
    },
    encode: (encoder) => encodePasses(encoder, passes),
    async readOutput() {
      return new Float32Array(await readBack(device, b.y, tokens * dim * 4));
    },
    compileMs: compiled.reduce((n, c) => n + c.compileMs, 0),
    uploadMs,
    dispose() {
      params.destroy();
      for (const buffer of Object.values(buffers)) buffer.destroy();
    },
  };
}
