// The MoE layer on WebGPU: for a gate that has a plan, its gate in WGSL (a softmax router's
// logits, softmax, top-k: _gpu_gate.ts; hash routing, expert choice, smooth-step selectors:
// _gpu_gate_route.ts); then the routing's slots permuted by expert (a stable count and scatter
// per chunk of slots and expert, each expert's capacity cut in slot or choice order, kept weights
// renormalized if the gate asks), a
// grouped expert FFN over every expert's tokens in one dispatch per product (each row reads its
// own expert's weights; no padding to a capacity), and the weighted combine into the residual —
// one command buffer. Other gates run on the CPU (the method's own `route`) and their routing is
// uploaded before the timed passes. Plain references: `gateReference`, `moeLayerReference`.
import { compileCompute, createStorage, readBack, uploadStorage } from "../../gpu/buffers.ts";
import type { GpuContext } from "../../gpu/device.ts";
import { bindInOrder, encodePasses, type Pass } from "../../gpu/passes.ts";
import { assertGpuLoops, grid2d, MAX_GPU_LOOP } from "./_gpu_gate.ts";
import { createRouteGate, routeCut } from "./_gpu_gate_route.ts";
import type { GpuRoutePlan, Routing } from "./_interface.ts";
import type { MoeLayer } from "./_layer.ts";

const WG = 64;

/** "No capacity" in the uniform: more slots than any batch holds. */
const NO_CAPACITY = 0xffffffff;

// Uniform: tokens, k, experts, dim, hidden, capacity per expert, the order slots are scanned in
// (0: slot order; 1: choice order, every token's first slot before any second), padding.
const PARAMS_WGSL = /* wgsl */ `
struct P { tokens: u32, k: u32, experts: u32, dim: u32, hidden: u32, capacity: u32, order: u32, p2: u32 };
@group(0) @binding(0) var<uniform> p: P;
fn slotAt(i: u32) -> u32 {
  if (p.order == 1u) { return (i % p.tokens) * p.k + i / p.tokens; }
  return i;
}
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
  for (var i = c * ${CHUNK}u; i < end; i++) {
    if (slotExpert[slotAt(i)] == i32(e)) { n++; }
  }
  counts[c * p.experts + e] = n;
}`;

/**
 * One invocation: each (chunk, expert)'s first row, expert-major then chunk order (so the
 * permutation stays stable in scan order), and offsets[e] (offsets[E] = slots routed). An
 * expert keeps its first `capacity` slots in scan order (`slotAt`): its chunks start at most that far in,
 * and its rows end there.
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
    var seen = 0u;
    for (var c = 0u; c < chunks; c++) {
      chunkStart[c * p.experts + e] = run + min(seen, p.capacity);
      seen += counts[c * p.experts + e];
    }
    run += min(seen, p.capacity);
  }
  offsets[p.experts] = run;
}`;

/**
 * One invocation per (chunk, expert): its slots of the chunk, in slot order, written from the
 * chunk's first row (the permutation: row → slot, row → expert) and each slot's row (its
 * inverse, −1 for an empty slot or one past its expert's capacity: dropped).
 */
const SCATTER_WGSL = PARAMS_WGSL + /* wgsl */ `
@group(0) @binding(1) var<storage, read> slotExpert: array<i32>;
@group(0) @binding(2) var<storage, read> chunkStart: array<u32>;
@group(0) @binding(3) var<storage, read_write> rowSlot: array<u32>;
@group(0) @binding(4) var<storage, read_write> rowExpert: array<u32>;
@group(0) @binding(5) var<storage, read_write> slotRow: array<i32>;
@group(0) @binding(6) var<storage, read> offsets: array<u32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let slots = p.tokens * p.k;
  let chunks = (slots + ${CHUNK}u - 1u) / ${CHUNK}u;
  let e = id.x % p.experts;
  let c = id.x / p.experts;
  if (c >= chunks) { return; }
  let end = min(slots, (c + 1u) * ${CHUNK}u);
  let last = offsets[e + 1u];
  var r = chunkStart[c * p.experts + e];
  for (var i = c * ${CHUNK}u; i < end; i++) {
    let s = slotAt(i);
    let x = slotExpert[s];
    if (x == i32(e)) {
      if (r < last) {
        rowSlot[r] = s;
        rowExpert[r] = e;
        slotRow[s] = i32(r);
        r++;
      } else {
        slotRow[s] = -1;
      }
    } else if (x < 0 && e == 0u) {
      slotRow[s] = -1;
    }
  }
}`;

/**
 * One invocation per token, after the cut: its kept slots' weights divided by their sum (a
 * token whose slots were all dropped keeps its weights: the combine skips them).
 */
const RENORMALIZE_WGSL = PARAMS_WGSL + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> weights: array<f32>;
@group(0) @binding(2) var<storage, read> slotRow: array<i32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let t = id.x + id.y * grid.x * ${WG}u;
  if (t >= p.tokens) { return; }
  var sum = 0.0;
  for (var s = 0u; s < p.k; s++) {
    if (slotRow[t * p.k + s] >= 0) { sum += weights[t * p.k + s]; }
  }
  if (sum <= 0.0) { return; }
  for (var s = 0u; s < p.k; s++) {
    if (slotRow[t * p.k + s] >= 0) { weights[t * p.k + s] = weights[t * p.k + s] / sum; }
  }
}`;

/** Routed rows and outputs one invocation of FC1 and FC2 computes: a 4 × 4 block. */
const BLOCK = 4;

/**
 * An expert's weights as FC1 and FC2 read them: [in][out] with each row padded to a multiple of 4
 * outputs (zeros), so a block's 4 outputs at one input are one aligned vec4 — and neighbouring
 * invocations (neighbouring output blocks) read neighbouring vec4s.
 */
function transposeForBlocks(w: Float32Array, outF: number, inF: number): Float32Array {
  const outP = Math.ceil(outF / BLOCK) * BLOCK, t = new Float32Array(inF * outP);
  for (let o = 0; o < outF; o++) for (let j = 0; j < inF; j++) t[j * outP + o] = w[o * inF + j];
  return t;
}

/**
 * A grouped linear layer over the routed rows, 4 rows × 4 outputs per invocation: out[row, o] =
 * act(b[e, o] + Σ_j W[e, o, j]·in(row)[j]), W stored as {@link transposeForBlocks} lays it out.
 * Rows are grouped by expert, so a block whose first and last rows share an expert (all but ≤ E−1
 * blocks) loads each weight vector once for its 4 rows; a block across an expert boundary loads
 * each row's own. Rows past the end repeat the last one for their loads, and neither they nor the
 * padded outputs are stored. `inputRow` is the WGSL index of a row's input vector.
 */
function groupedLinearWgsl(spec: {
  bindings: string;
  w: string;
  b: string;
  input: string;
  inputRow: (row: string) => string;
  out: string;
  inF: string;
  outF: string;
  relu: boolean;
}): string {
  const { w, b, input, out, inF, outF } = spec;
  const act = (v: string) => spec.relu ? `max(${v}, 0.0)` : v;
  return PARAMS_WGSL + spec.bindings + /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let flat = id.x + id.y * grid.x * ${WG}u;
  let outBlocks = (${outF} + ${BLOCK - 1}u) / ${BLOCK}u;
  let ob = flat % outBlocks;
  let o0 = ob * ${BLOCK}u;
  let r0 = (flat / outBlocks) * ${BLOCK}u;
  let rows = offsets[p.experts];
  if (r0 >= rows) { return; }
  var row: array<u32, ${BLOCK}>;
  var inBase: array<u32, ${BLOCK}>;
  for (var q = 0u; q < ${BLOCK}u; q++) {
    row[q] = min(r0 + q, rows - 1u);
    inBase[q] = (${spec.inputRow("row[q]")}) * ${inF};
  }
  var acc: array<vec4<f32>, ${BLOCK}>;
  let e = rowExpert[row[0]];
  if (rowExpert[row[${BLOCK - 1}]] == e) {
    let base = e * ${inF} * outBlocks + ob;
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var s3 = vec4<f32>(0.0);
    for (var j = 0u; j < ${inF}; j++) {
      let wv = ${w}[base + j * outBlocks];
      s0 += wv * ${input}[inBase[0] + j];
      s1 += wv * ${input}[inBase[1] + j];
      s2 += wv * ${input}[inBase[2] + j];
      s3 += wv * ${input}[inBase[3] + j];
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
  } else {
    for (var q = 0u; q < ${BLOCK}u; q++) {
      let base = rowExpert[row[q]] * ${inF} * outBlocks + ob;
      var s = vec4<f32>(0.0);
      for (var j = 0u; j < ${inF}; j++) { s += ${w}[base + j * outBlocks] * ${input}[inBase[q] + j]; }
      acc[q] = s;
    }
  }
  for (var q = 0u; q < ${BLOCK}u; q++) {
    if (r0 + q >= rows) { break; }
    let eq = rowExpert[row[q]];
    var v = acc[q];
    for (var c = 0u; c < ${BLOCK}u; c++) {
      if (o0 + c >= ${outF}) { break; }
      ${out}[(r0 + q) * ${outF} + o0 + c] = ${act(`v[c] + ${b}[eq * ${outF} + o0 + c]`)};
    }
  }
}`;
}

/** a[row, i] = relu(b1[e, i] + Σ_j W1[e, i, j]·h[token, j]) over every routed row of every expert. */
const FC1_WGSL = groupedLinearWgsl({
  bindings: /* wgsl */ `
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> w1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b1: array<f32>;
@group(0) @binding(4) var<storage, read> offsets: array<u32>;
@group(0) @binding(5) var<storage, read> rowSlot: array<u32>;
@group(0) @binding(6) var<storage, read> rowExpert: array<u32>;
@group(0) @binding(7) var<storage, read_write> a: array<f32>;
`,
  w: "w1",
  b: "b1",
  input: "h",
  inputRow: (row) => `rowSlot[${row}] / p.k`,
  out: "a",
  inF: "p.dim",
  outF: "p.hidden",
  relu: true,
});

/** o[row, j] = b2[e, j] + Σ_i W2[e, j, i]·a[row, i]. */
const FC2_WGSL = groupedLinearWgsl({
  bindings: /* wgsl */ `
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w2: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b2: array<f32>;
@group(0) @binding(4) var<storage, read> offsets: array<u32>;
@group(0) @binding(5) var<storage, read> rowExpert: array<u32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;
`,
  w: "w2",
  b: "b2",
  input: "a",
  inputRow: (row) => row,
  out: "o",
  inF: "p.hidden",
  outF: "p.dim",
  relu: false,
});

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

/** The layer's phases, in the order they run. */
export const MOE_PHASES = ["gate", "permutation", "grouped_matmul", "combine"] as const;
export type MoePhase = typeof MOE_PHASES[number];

/** What the GPU routed: each slot's expert before the capacity cut, and the routing after it. */
export interface GpuRouting {
  /** Expert of each slot as the gate chose it [tokens × k] (before any capacity cut). */
  chosen: Int32Array;
  /** The routing the layer applied: dropped slots empty (expert −1, weight 0). */
  routing: Routing;
}

/** The layer's experts and one batch's buffers on the device, ready to encode. */
export interface GpuMoeLayer {
  /** Whether the gate runs on the GPU (in the encoded passes) rather than being uploaded. */
  gateOnGpu: boolean;
  /**
   * Uploads a routing of the bound batch (outside the timed passes); its capacity cut, if any,
   * is already in it.
   *
   * @throws {RangeError} when the gate runs on the GPU, or the routing's shape is not the batch's
   */
  setRouting(routing: Routing): void;
  /** Records the gate (when on the GPU), the permutation, the grouped FFN and the combine. */
  encode(encoder: GPUCommandEncoder): void;
  /** The passes of each phase (the gate's empty when it is the CPU's), for timing them apart. */
  phases: { name: MoePhase; passes: Pass[] }[];
  /** The layer's output [tokens × dim], read back. */
  readOutput(): Promise<Float32Array>;
  /** The routing the last encoded passes applied, read back. */
  readRouting(): Promise<GpuRouting>;
  compileMs: number;
  uploadMs: number;
  dispose(): void;
}

/** What {@link createGpuMoeLayer} binds: a batch, its slots per token, and its gate's plan. */
export interface GpuMoeBatch {
  h: Float32Array;
  tokens: number;
  k: number;
  gate?: GpuRoutePlan;
  ids?: Uint32Array;
  /** The largest storage binding to plan for (default: the adapter's; tests set a small one). */
  maxBindingBytes?: number;
}

/**
 * Whether `plan` routes each token on its own (every expert, no capacity: the dense mixture), so
 * a batch too large for one binding can run as consecutive slices of tokens with the same result.
 */
export function routesTokenByToken(plan: GpuRoutePlan | undefined, tokens: number): boolean {
  return plan !== undefined && plan.kind === undefined && plan.select === "all" &&
    plan.capacity(tokens) === null;
}

/**
 * Uploads `layer`'s experts and a batch `h` [tokens × dim] with room for `k` slots per token;
 * with a `gate` plan, the gate runs in the encoded passes (its k is the plan's). A plan that
 * routes token by token ({@link routesTokenByToken}) whose routed rows exceed one storage
 * binding runs as slices of tokens, each in its own buffers, all in the same passes' order.
 *
 * @throws {RangeError} when the routed rows exceed the adapter's largest storage binding (and the
 *   plan cannot be sliced), a loop of one invocation would pass llvmpipe's limit (more than
 *   65,535 chunks of 4,096 slots, or features, hidden units or slots per token), or the plan
 *   does not fit the layer
 */
export async function createGpuMoeLayer(
  gpu: GpuContext,
  layer: MoeLayer,
  batch: GpuMoeBatch,
): Promise<GpuMoeLayer> {
  const { dim, hidden } = layer.shape, { tokens, k } = batch;
  const limit = batch.maxBindingBytes ?? gpu.device.limits.maxStorageBufferBindingSize;
  const rowBytes = k * Math.max(dim, hidden) * 4;
  if (tokens * rowBytes <= limit || !routesTokenByToken(batch.gate, tokens)) {
    return await createWholeGpuMoeLayer(gpu, layer, batch, limit);
  }
  const perSlice = Math.floor(limit / rowBytes);
  if (perSlice < 1) {
    throw new RangeError(`Cannot hold one token's ${k} routed rows in a binding of ${limit} bytes`);
  }
  const parts: GpuMoeLayer[] = [];
  try {
    for (let start = 0; start < tokens; start += perSlice) {
      const n = Math.min(perSlice, tokens - start);
      parts.push(
        await createWholeGpuMoeLayer(gpu, layer, {
          ...batch,
          h: batch.h.subarray(start * dim, (start + n) * dim),
          ids: batch.ids?.subarray(start, start + n),
          tokens: n,
        }, limit),
      );
    }
  } catch (e) {
    for (const part of parts) part.dispose();
    throw e;
  }
  return joinSlices(parts, { tokens, k });
}

/** Consecutive token slices as one layer: passes phase by phase, outputs and routings joined. */
function joinSlices(parts: GpuMoeLayer[], batch: { tokens: number; k: number }): GpuMoeLayer {
  const joined = (arrays: ArrayLike<number>[], make: (n: number) => Float32Array | Int32Array) => {
    const out = make(arrays.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  };
  return {
    gateOnGpu: parts[0].gateOnGpu,
    setRouting() {
      throw new RangeError("Cannot upload a routing: this layer's gate runs on the GPU");
    },
    encode(encoder) {
      for (const part of parts) part.encode(encoder);
    },
    phases: MOE_PHASES.map((name) => ({
      name,
      passes: parts.flatMap((part) => part.phases.find((p) => p.name === name)!.passes),
    })),
    async readOutput() {
      const outputs = [];
      for (const part of parts) outputs.push(await part.readOutput());
      return joined(outputs, (n) => new Float32Array(n)) as Float32Array;
    },
    async readRouting() {
      const read = [];
      for (const part of parts) read.push(await part.readRouting());
      return {
        chosen: joined(read.map((r) => r.chosen), (n) => new Int32Array(n)) as Int32Array,
        routing: {
          tokens: batch.tokens,
          k: batch.k,
          experts: joined(
            read.map((r) => r.routing.experts),
            (n) => new Int32Array(n),
          ) as Int32Array,
          weights: joined(
            read.map((r) => r.routing.weights),
            (n) => new Float32Array(n),
          ) as Float32Array,
          auxLoss: 0,
          probabilities: null,
        },
      };
    },
    compileMs: parts.reduce((n, p) => n + p.compileMs, 0),
    uploadMs: parts.reduce((n, p) => n + p.uploadMs, 0),
    dispose() {
      for (const part of parts) part.dispose();
    },
  };
}

async function createWholeGpuMoeLayer(
  gpu: GpuContext,
  layer: MoeLayer,
  batch: GpuMoeBatch,
  limit: number,
): Promise<GpuMoeLayer> {
  const { device } = gpu, { dim, hidden, experts } = layer.shape, { tokens, k } = batch;
  const plan = batch.gate ?? null;
  if (plan && plan.k !== k) {
    throw new RangeError(`Cannot route on the GPU: the gate keeps ${plan.k} slots, the batch ${k}`);
  }
  const chunks = Math.max(1, Math.ceil(tokens * k / CHUNK));
  if (chunks > MAX_GPU_LOOP) {
    throw new RangeError(
      `Cannot route ${tokens} tokens × ${k} slots on the GPU: ${chunks} chunks of ${CHUNK} slots, at most ${MAX_GPU_LOOP}`,
    );
  }
  assertGpuLoops({
    "a chunk's slots": Math.min(CHUNK, tokens * k),
    "an expert's input features": dim,
    "an expert's hidden units": hidden,
    "a token's slots": k,
    "the layer's experts": experts,
  });
  const cut = plan ? routeCut(plan, tokens, experts) : null;
  const capacity = cut?.capacity ?? null;
  if (capacity !== null && !(Number.isInteger(capacity) && capacity >= 0)) {
    throw new RangeError(`Cannot route on the GPU: capacity ${capacity} is not an integer ≥ 0`);
  }
  // A capacity or expert choice bounds the rows below the slots: only those get buffers.
  const maxRows = cut?.maxRows ?? tokens * k;
  const largest = maxRows * Math.max(dim, hidden) * 4;
  if (largest > limit) {
    throw new RangeError(
      `Cannot hold ${tokens} tokens × ${k} slots on this adapter: the routed rows take ${largest} bytes, its largest storage binding ${limit}`,
    );
  }
  const start = performance.now();
  const hiddenP = Math.ceil(hidden / BLOCK) * BLOCK, dimP = Math.ceil(dim / BLOCK) * BLOCK;
  const w1 = new Float32Array(experts * dim * hiddenP), b1 = new Float32Array(experts * hidden);
  const w2 = new Float32Array(experts * hidden * dimP), b2 = new Float32Array(experts * dim);
  layer.experts.forEach((ex, e) => {
    w1.set(transposeForBlocks(ex.fc1.weight.data, hidden, dim), e * dim * hiddenP);
    b1.set(ex.fc1.bias!.data, e * hidden);
    w2.set(transposeForBlocks(ex.fc2.weight.data, dim, hidden), e * hidden * dimP);
    b2.set(ex.fc2.bias!.data, e * dim);
  });
  const params = device.createBuffer({
    size: 32,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const cap = capacity === null ? NO_CAPACITY : Math.min(capacity, NO_CAPACITY - 1);
  device.queue.writeBuffer(
    params,
    0,
    Uint32Array.from([tokens, k, experts, dim, hidden, cap, cut?.order === "choice" ? 1 : 0, 0]),
  );
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
    a: createStorage(device, maxRows * hidden * 4, "moe hidden"),
    o: createStorage(device, maxRows * dim * 4, "moe expert out"),
    y: createStorage(device, tokens * dim * 4, "moe y"),
  };
  const uploadMs = performance.now() - start;
  const gate = plan
    ? await createRouteGate(device, plan, {
      x: buffers.h,
      ids: batch.ids,
      tokens,
      dim,
      experts,
      slotExpert: buffers.slotExpert,
      weights: buffers.weights,
    })
    : null;
  const renormalize = cut?.renormalizeKept ?? false;
  const codes = [COUNT_WGSL, OFFSETS_WGSL, SCATTER_WGSL, FC1_WGSL, FC2_WGSL, COMBINE_WGSL];
  const compiled = await Promise.all(
    [...codes, ...(renormalize ? [RENORMALIZE_WGSL] : [])].map((code, i) =>
      compileCompute(device, code, `moe pass ${i}`)
    ),
  );
  const [count, offsets, scatter, fc1, fc2, combine, renorm] = compiled.map((c) => c.pipeline);
  const b = buffers, groups = (n: number) => Math.max(1, Math.ceil(n / WG));
  // Row-parallel passes spread their workgroups over a 2-D grid (a dimension holds at most 65,535);
  // each invocation rebuilds its flat index, and the ones past the end return.
  const grid = grid2d, blocks = (n: number) => Math.ceil(n / BLOCK);
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
        b.offsets,
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
      grid(blocks(maxRows) * blocks(hidden)),
    ],
    [
      fc2,
      bindInOrder(device, fc2, [params, b.a, b.w2, b.b2, b.offsets, b.rowExpert, b.o]),
      grid(blocks(maxRows) * blocks(dim)),
    ],
    [
      combine,
      bindInOrder(device, combine, [params, b.h, b.weights, b.slotRow, b.o, b.y]),
      grid(tokens * dim),
    ],
  ];
  // The renormalization after the cut belongs to routing: the permutation's phase.
  const permutation = passes.slice(0, 3);
  if (renorm) {
    permutation.push([
      renorm,
      bindInOrder(device, renorm, [params, b.weights, b.slotRow]),
      grid(tokens),
    ]);
  }
  const phases: GpuMoeLayer["phases"] = [
    { name: "gate", passes: gate?.passes ?? [] },
    { name: "permutation", passes: permutation },
    { name: "grouped_matmul", passes: passes.slice(3, 5) },
    { name: "combine", passes: passes.slice(5) },
  ];
  const all = phases.flatMap((phase) => phase.passes);
  return {
    gateOnGpu: gate !== null,
    setRouting(routing) {
      if (gate) throw new RangeError("Cannot upload a routing: this layer's gate runs on the GPU");
      if (routing.tokens !== tokens || routing.k !== k) {
        throw new RangeError(
          `Cannot upload a ${routing.tokens}×${routing.k} routing into a ${tokens}×${k} layer`,
        );
      }
      device.queue.writeBuffer(b.slotExpert, 0, routing.experts as Int32Array<ArrayBuffer>);
      device.queue.writeBuffer(b.weights, 0, routing.weights as Float32Array<ArrayBuffer>);
    },
    encode: (encoder) => encodePasses(encoder, all),
    phases,
    async readOutput() {
      return new Float32Array(await readBack(device, b.y, tokens * dim * 4));
    },
    async readRouting() {
      const [chosen, weights, rows] = await Promise.all([
        readBack(device, b.slotExpert, slots * 4),
        readBack(device, b.weights, slots * 4),
        readBack(device, b.slotRow, slots * 4),
      ]);
      const picked = new Int32Array(chosen), row = new Int32Array(rows);
      const w = new Float32Array(weights), experts = picked.slice();
      for (let s = 0; s < slots; s++) {
        if (row[s] < 0) {
          experts[s] = -1;
          w[s] = 0;
        }
      }
      return {
        chosen: picked,
        routing: { tokens, k, experts, weights: w, auxLoss: 0, probabilities: null },
      };
    },
    compileMs: compiled.reduce((n, c) => n + c.compileMs, 0) + (gate?.compileMs ?? 0),
    uploadMs,
    dispose() {
      gate?.dispose();
      params.destroy();
      for (const buffer of Object.values(buffers)) buffer.destroy();
    },
  };
}
