// A softmax-router gate in WGSL, the first passes of the WebGPU MoE layer: router logits (a GEMM
// tokens × dim · dim × E), a float32 softmax over experts and the top-k (ties to the lower index,
// as the CPU gates' `topKIndices` and `argmaxRow`), writing the slots the permutation reads. The
// capacity cut happens in the permutation (it ranks each expert's slots in slot order anyway).
// Its plain reference is `gateReference`.
import { compileCompute, createStorage, uploadStorage } from "../../gpu/buffers.ts";
import { bindInOrder, type Pass } from "../../gpu/passes.ts";
import type { GpuGatePlan } from "./_interface.ts";

/** llvmpipe silently ends a shader invocation's loops after 65,535 iterations. */
export const MAX_GPU_LOOP = 65_535;

/** Slots per token the WGSL top-k keeps in registers. */
export const MAX_GPU_TOP_K = 8;

const WG = 64;
/** Workgroups in one dimension of a dispatch (WebGPU's default limit). */
export const MAX_DISPATCH = 65_535;

/** A dispatch of `n` invocations in workgroups of 64 over a 2-D grid (one dimension holds 65,535). */
export function grid2d(n: number): [number, number, number] {
  const total = Math.max(1, Math.ceil(n / WG)), x = Math.min(total, MAX_DISPATCH);
  return [x, Math.ceil(total / x), 1];
}

/**
 * Throws unless every loop of one invocation stays within llvmpipe's limit.
 *
 * @param loops what each loop runs over and how many iterations it takes
 * @throws {RangeError} naming the first loop past {@link MAX_GPU_LOOP} iterations
 */
export function assertGpuLoops(loops: Record<string, number>): void {
  for (const [what, n] of Object.entries(loops)) {
    if (n > MAX_GPU_LOOP) {
      throw new RangeError(
        `Cannot run this MoE layer on the GPU: one invocation would loop ${n} times over ${what}, and llvmpipe stops loops after ${MAX_GPU_LOOP}`,
      );
    }
  }
}

// Uniform: tokens, experts, dim, k, select (0 top-k, 1 all), weighting (0 probability, 1 kept
// softmax, 2 renormalized, 3 sigmoid), and two words other gates' passes use (expert choice).
export const GATE_PARAMS_WGSL = /* wgsl */ `
struct G { tokens: u32, experts: u32, dim: u32, k: u32, select: u32, weighting: u32, p0: u32, p1: u32 };
@group(0) @binding(0) var<uniform> g: G;
`;

/**
 * logits[t, e] = Σ_j x[t, j]·W[e, j], 4 tokens × 4 experts per invocation (each loaded input and
 * weight used four times). Tokens and experts past the end repeat the last one for their loads and
 * are not stored.
 */
export const LOGITS_WGSL = GATE_PARAMS_WGSL + /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> logits: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let flat = id.x + id.y * grid.x * ${WG}u;
  let expertBlocks = (g.experts + 3u) / 4u;
  let e0 = (flat % expertBlocks) * 4u;
  let t0 = (flat / expertBlocks) * 4u;
  if (t0 >= g.tokens) { return; }
  let x0 = min(t0, g.tokens - 1u) * g.dim;
  let x1 = min(t0 + 1u, g.tokens - 1u) * g.dim;
  let x2 = min(t0 + 2u, g.tokens - 1u) * g.dim;
  let x3 = min(t0 + 3u, g.tokens - 1u) * g.dim;
  let w0 = min(e0, g.experts - 1u) * g.dim;
  let w1 = min(e0 + 1u, g.experts - 1u) * g.dim;
  let w2 = min(e0 + 2u, g.experts - 1u) * g.dim;
  let w3 = min(e0 + 3u, g.experts - 1u) * g.dim;
  var acc: array<vec4<f32>, 4>;
  var s0 = vec4<f32>(0.0);
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  var s3 = vec4<f32>(0.0);
  for (var j = 0u; j < g.dim; j++) {
    let wv = vec4<f32>(w[w0 + j], w[w1 + j], w[w2 + j], w[w3 + j]);
    s0 += wv * x[x0 + j];
    s1 += wv * x[x1 + j];
    s2 += wv * x[x2 + j];
    s3 += wv * x[x3 + j];
  }
  acc[0] = s0;
  acc[1] = s1;
  acc[2] = s2;
  acc[3] = s3;
  for (var q = 0u; q < 4u; q++) {
    if (t0 + q >= g.tokens) { break; }
    var v = acc[q];
    for (var c = 0u; c < 4u; c++) {
      if (e0 + c >= g.experts) { break; }
      logits[(t0 + q) * g.experts + e0 + c] = v[c];
    }
  }
}`;

/**
 * One invocation per token: softmax over the experts (max-subtracted), then either every expert
 * in order or the k highest-ranked by insertion (a later expert displaces an earlier one only
 * when strictly greater: ties go to the lower index), and the slots' weights. Probabilities rank
 * for weightings 0 and 2, logits for 1 and 3.
 */
export const SELECT_WGSL = GATE_PARAMS_WGSL + /* wgsl */ `
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> slotExpert: array<i32>;
@group(0) @binding(3) var<storage, read_write> weights: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let t = id.x + id.y * grid.x * ${WG}u;
  if (t >= g.tokens) { return; }
  let base = t * g.experts;
  var m = logits[base];
  for (var e = 1u; e < g.experts; e++) { m = max(m, logits[base + e]); }
  var sum = 0.0;
  for (var e = 0u; e < g.experts; e++) { sum += exp(logits[base + e] - m); }
  if (g.select == 1u) {
    for (var e = 0u; e < g.experts; e++) {
      slotExpert[base + e] = i32(e);
      weights[base + e] = exp(logits[base + e] - m) / sum;
    }
    return;
  }
  var top: array<i32, ${MAX_GPU_TOP_K}>;
  var val: array<f32, ${MAX_GPU_TOP_K}>;
  for (var s = 0u; s < ${MAX_GPU_TOP_K}u; s++) { top[s] = -1; val[s] = 0.0; }
  for (var e = 0u; e < g.experts; e++) {
    let l = logits[base + e];
    var v = l;
    if (g.weighting == 0u || g.weighting == 2u) { v = exp(l - m) / sum; }
    var pos = g.k;
    loop {
      if (pos == 0u) { break; }
      if (top[pos - 1u] != -1 && !(val[pos - 1u] < v)) { break; }
      pos--;
    }
    if (pos >= g.k) { continue; }
    for (var q = g.k - 1u; q > pos; q--) { top[q] = top[q - 1u]; val[q] = val[q - 1u]; }
    top[pos] = i32(e);
    val[pos] = v;
  }
  let lead = logits[base + u32(top[0])];
  var kept = 0.0;
  for (var s = 0u; s < g.k; s++) { kept += exp(logits[base + u32(top[s])] - lead); }
  var chosen = 0.0;
  for (var s = 0u; s < g.k; s++) { chosen += val[s]; }
  for (var s = 0u; s < g.k; s++) {
    let l = logits[base + u32(top[s])];
    slotExpert[t * g.k + s] = top[s];
    if (g.weighting == 0u) {
      weights[t * g.k + s] = exp(l - m) / sum;
    } else if (g.weighting == 1u) {
      weights[t * g.k + s] = exp(l - lead) / kept;
    } else if (g.weighting == 2u) {
      weights[t * g.k + s] = val[s] / chosen;
    } else {
      weights[t * g.k + s] = 1.0 / (1.0 + exp(-l));
    }
  }
}`;

/** The weighting's code in the uniform (the select pass's branches). */
const WEIGHTING_CODE: Record<GpuGatePlan["weighting"], number> = {
  "probability": 0,
  "kept-softmax": 1,
  "renormalized": 2,
  "sigmoid": 3,
};

/** The gate's passes over a bound batch, and its buffers. */
export interface GpuGate {
  /** Router logits, then softmax and top-k into the slot buffers. */
  passes: Pass[];
  compileMs: number;
  dispose(): void;
}

/**
 * Builds the gate's passes for `tokens` inputs already on the device (`x` [tokens × dim]),
 * writing each slot's expert (i32) and weight (f32) into `slotExpert` and `weights`.
 *
 * @throws {RangeError} when the plan's k is outside [1, min(E, 8)] (top-k) or not E (all), or
 *   a loop of one invocation would pass llvmpipe's limit
 */
export async function createGpuGate(
  device: GPUDevice,
  plan: GpuGatePlan,
  batch: {
    x: GPUBuffer;
    tokens: number;
    dim: number;
    experts: number;
    slotExpert: GPUBuffer;
    weights: GPUBuffer;
  },
): Promise<GpuGate> {
  const { tokens, dim, experts } = batch, k = plan.k;
  if (plan.router.length !== experts * dim) {
    throw new RangeError(
      `Cannot route on the GPU: the router holds ${plan.router.length} weights, expected ${experts}×${dim}`,
    );
  }
  const topK = plan.select === "top-k";
  if (topK ? !(k >= 1 && k <= Math.min(experts, MAX_GPU_TOP_K)) : k !== experts) {
    throw new RangeError(
      `Cannot route on the GPU: k = ${k} with ${experts} experts (${
        topK ? `top-k keeps 1 to ${Math.min(experts, MAX_GPU_TOP_K)}` : "'all' routes to every one"
      })`,
    );
  }
  assertGpuLoops({ "the router's input features": dim, "the experts of a token": experts });
  const params = device.createBuffer({
    size: 32,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const config = [tokens, experts, dim, k, topK ? 0 : 1, WEIGHTING_CODE[plan.weighting]];
  device.queue.writeBuffer(params, 0, Uint32Array.from([...config, 0, 0]));
  const router = uploadStorage(device, plan.router, "moe gate router");
  const logits = createStorage(device, Math.max(1, tokens * experts) * 4, "moe gate logits");
  const [scores, select] = await Promise.all([
    compileCompute(device, LOGITS_WGSL, "moe gate logits"),
    compileCompute(device, SELECT_WGSL, "moe gate top-k"),
  ]);
  return {
    passes: [
      [
        scores.pipeline,
        bindInOrder(device, scores.pipeline, [params, batch.x, router, logits]),
        grid2d(Math.ceil(tokens / 4) * Math.ceil(experts / 4)),
      ],
      [
        select.pipeline,
        bindInOrder(device, select.pipeline, [params, logits, batch.slotExpert, batch.weights]),
        grid2d(tokens),
      ],
    ],
    compileMs: scores.compileMs + select.compileMs,
    dispose() {
      params.destroy();
      router.destroy();
      logits.destroy();
    },
  };
}
