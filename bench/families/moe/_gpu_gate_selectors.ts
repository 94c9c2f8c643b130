// DSelect-k's and COMET's evaluation gate in WGSL: one GEMM for every selector's decision logits
// and the mixing logits (the router rows stacked), then one invocation per token: the cubic
// smooth-step of each decision, each leaf's probability as the product along its path (a
// saturated decision makes it exactly 0), the selectors mixed by a softmax, leaf weights summed
// into their experts' slots (through COMET's permutation), and the experts of weight 0 left
// empty. Its plain reference is `selectorRouteReference` (float64), compared by
// `compareSelectorRouting`.
import { compileCompute, createStorage, uploadStorage } from "../../gpu/buffers.ts";
import { bindInOrder } from "../../gpu/passes.ts";
import { GATE_WEIGHT_TOLERANCE, type GateAgreement } from "./_gate_reference.ts";
import { assertGpuLoops, type GpuGate, grid2d, LOGITS_WGSL } from "./_gpu_gate.ts";
import type { GpuSelectorPlan, Routing } from "./_interface.ts";
import { smoothStep } from "./_smooth_step.ts";

/** The selectors' shape: decisions per selector, depth and leaves (2^⌈log₂E⌉). */
function shapeOf(plan: GpuSelectorPlan, experts: number) {
  const depth = Math.ceil(Math.log2(experts)), leaves = 2 ** depth;
  const nodes = plan.layout === "tree" ? leaves - 1 : depth;
  return { depth, leaves, nodes, rows: plan.selectors * nodes + (plan.mix ? plan.selectors : 0) };
}

// Uniform: tokens, E, selectors, decisions per selector, depth, tree (1) or code (0), logit
// rows per token (decisions, then mixing), γ.
const SELECTORS_WGSL = /* wgsl */ `
struct S { tokens: u32, experts: u32, selectors: u32, nodes: u32, depth: u32, tree: u32, rows: u32, gamma: f32 };
@group(0) @binding(0) var<uniform> g: S;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> leafTarget: array<u32>;
@group(0) @binding(3) var<storage, read_write> slotExpert: array<i32>;
@group(0) @binding(4) var<storage, read_write> weights: array<f32>;
fn smoothStep(t: f32) -> f32 {
  if (t <= -g.gamma / 2.0) { return 0.0; }
  if (t >= g.gamma / 2.0) { return 1.0; }
  return -2.0 * t * t * t / (g.gamma * g.gamma * g.gamma) + 3.0 * t / (2.0 * g.gamma) + 0.5;
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let t = id.x + id.y * grid.x * 64u;
  if (t >= g.tokens) { return; }
  let base = t * g.rows;
  let out = t * g.experts;
  for (var e = 0u; e < g.experts; e++) { weights[out + e] = 0.0; }
  let mixAt = base + g.selectors * g.nodes;
  var mx = 0.0;
  var sum = 1.0;
  if (g.selectors > 1u) {
    mx = logits[mixAt];
    for (var j = 1u; j < g.selectors; j++) { mx = max(mx, logits[mixAt + j]); }
    sum = 0.0;
    for (var j = 0u; j < g.selectors; j++) { sum += exp(logits[mixAt + j] - mx); }
  }
  let leaves = 1u << g.depth;
  for (var j = 0u; j < g.selectors; j++) {
    var alpha = 1.0;
    if (g.selectors > 1u) { alpha = exp(logits[mixAt + j] - mx) / sum; }
    for (var l = 0u; l < leaves; l++) {
      var p = 1.0;
      for (var b = 0u; b < g.depth; b++) {
        if (!(p > 0.0)) { break; }
        let bit = (l >> (g.depth - 1u - b)) & 1u;
        var node = b;
        if (g.tree == 1u) { node = (1u << b) - 1u + (l >> (g.depth - b)); }
        let s = smoothStep(logits[base + j * g.nodes + node]);
        if (bit == 1u) { p *= s; } else { p *= 1.0 - s; }
      }
      let dest = out + leafTarget[l % g.experts];
      weights[dest] += alpha * p;
    }
  }
  for (var e = 0u; e < g.experts; e++) {
    if (weights[out + e] > 0.0) { slotExpert[out + e] = i32(e); } else { slotExpert[out + e] = -1; }
  }
}`;

/** The plan's checked leaf targets: a permutation of 0…E−1 (the identity when absent). */
function targetsOf(plan: GpuSelectorPlan, experts: number): Int32Array {
  const target = plan.leafTarget ?? Int32Array.from({ length: experts }, (_, e) => e);
  const seen = new Set(target);
  if (
    target.length !== experts || seen.size !== experts ||
    [...seen].some((e) => !(e >= 0 && e < experts))
  ) {
    throw new RangeError(
      `Cannot route the selectors: leafTarget must be a permutation of 0…${
        experts - 1
      }, got ${target.length} entries`,
    );
  }
  return target;
}

/**
 * Builds the selectors' passes for `tokens` inputs already on the device, writing the [tokens × E]
 * slots into `slotExpert` and `weights`.
 *
 * @throws {RangeError} when E < 2, k is not E, the weights' shapes do not fit, leafTarget is not
 *   a permutation, or a loop would pass llvmpipe's limit
 */
export async function createGpuSelectorGate(
  device: GPUDevice,
  plan: GpuSelectorPlan,
  batch: {
    x: GPUBuffer;
    tokens: number;
    dim: number;
    experts: number;
    slotExpert: GPUBuffer;
    weights: GPUBuffer;
  },
): Promise<GpuGate> {
  const { tokens, dim, experts } = batch, { depth, leaves, nodes, rows } = shapeOf(plan, experts);
  const k = plan.selectors;
  if (
    experts < 2 || plan.k !== experts || plan.decisions.length !== k * nodes * dim ||
    (k > 1 ? plan.mix?.length !== k * dim : plan.mix !== null)
  ) {
    throw new RangeError(
      `Cannot route the selectors on the GPU: E = ${experts}, k = ${plan.k}, ${plan.decisions.length} decision weights (expected ${
        k * nodes * dim
      }), ${plan.mix?.length ?? 0} mixing weights`,
    );
  }
  const target = targetsOf(plan, experts);
  assertGpuLoops({
    "the router's input features": dim,
    "a token's selectors": k,
    "a selector's leaves": leaves,
    "the experts of a token": experts,
  });
  const router = new Float32Array(rows * dim);
  router.set(plan.decisions);
  if (plan.mix) router.set(plan.mix, k * nodes * dim);
  const logitsParams = device.createBuffer({
    size: 32,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(logitsParams, 0, Uint32Array.from([tokens, rows, dim, 0, 0, 0, 0, 0]));
  const params = device.createBuffer({
    size: 32,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const words = new ArrayBuffer(32);
  new Uint32Array(words, 0, 7).set([
    tokens,
    experts,
    k,
    nodes,
    depth,
    plan.layout === "tree" ? 1 : 0,
    rows,
  ]);
  new Float32Array(words, 28, 1)[0] = plan.gamma;
  device.queue.writeBuffer(params, 0, words);
  const routerBuffer = uploadStorage(device, router, "moe selector router");
  const targets = uploadStorage(device, Uint32Array.from(target), "moe selector targets");
  const logits = createStorage(device, Math.max(1, tokens * rows) * 4, "moe selector logits");
  const [scores, select] = await Promise.all([
    compileCompute(device, LOGITS_WGSL, "moe selector logits"),
    compileCompute(device, SELECTORS_WGSL, "moe selectors"),
  ]);
  return {
    passes: [
      [
        scores.pipeline,
        bindInOrder(device, scores.pipeline, [logitsParams, batch.x, routerBuffer, logits]),
        grid2d(Math.ceil(tokens / 4) * Math.ceil(rows / 4)),
      ],
      [
        select.pipeline,
        bindInOrder(device, select.pipeline, [
          params,
          logits,
          targets,
          batch.slotExpert,
          batch.weights,
        ]),
        grid2d(tokens),
      ],
    ],
    compileMs: scores.compileMs + select.compileMs,
    dispose() {
      for (const buffer of [logitsParams, params, routerBuffer, targets, logits]) buffer.destroy();
    },
  };
}

/**
 * The selectors' routing of `x` [tokens × dim], plainly in float64: slot t·E + e holds e with
 * its weight where that weight is > 0.
 *
 * @throws {RangeError} when `x` is shorter than tokens × dim
 */
export function selectorRouteReference(
  plan: GpuSelectorPlan,
  batch: { x: Float32Array; tokens: number; dim: number },
): Routing {
  const { x, tokens, dim } = batch, E = plan.k, { depth, leaves, nodes } = shapeOf(plan, E);
  if (x.length < tokens * dim) {
    throw new RangeError(
      `Cannot compute the selectors' reference: ${x.length} inputs for ${tokens}×${dim}`,
    );
  }
  const target = targetsOf(plan, E), k = plan.selectors;
  const dot = (w: Float32Array, row: number, t: number) => {
    let v = 0;
    for (let j = 0; j < dim; j++) v += x[t * dim + j] * w[row * dim + j];
    return v;
  };
  const experts = new Int32Array(tokens * E).fill(-1), weights = new Float32Array(tokens * E);
  const w = new Float64Array(E), alpha = new Float64Array(k);
  for (let t = 0; t < tokens; t++) {
    w.fill(0);
    alpha.fill(1);
    if (plan.mix) {
      let max = -Infinity, sum = 0;
      for (let j = 0; j < k; j++) max = Math.max(max, alpha[j] = dot(plan.mix, j, t));
      for (let j = 0; j < k; j++) sum += alpha[j] = Math.exp(alpha[j] - max);
      for (let j = 0; j < k; j++) alpha[j] /= sum;
    }
    for (let j = 0; j < k; j++) {
      for (let l = 0; l < leaves; l++) {
        let p = 1;
        for (let b = 0; b < depth && p > 0; b++) {
          const bit = (l >> (depth - 1 - b)) & 1;
          const node = plan.layout === "tree" ? (1 << b) - 1 + (l >> (depth - b)) : b;
          const s = smoothStep(dot(plan.decisions, j * nodes + node, t), plan.gamma);
          p *= bit ? s : 1 - s;
        }
        w[target[l % E]] += alpha[j] * p;
      }
    }
    for (let e = 0; e < E; e++) {
      if (w[e] > 0) {
        experts[t * E + e] = e;
        weights[t * E + e] = w[e];
      }
    }
  }
  return { tokens, k: E, experts, weights, auxLoss: 0, probabilities: null };
}

/**
 * Checks a GPU selector routing against the reference: each slot empty or its own expert, an
 * expert present exactly where its GPU weight is > 0, and every weight (0 for an empty slot)
 * within {@link GATE_WEIGHT_TOLERANCE} of the reference's. A slot present on one side only is a
 * near-tie (a decision within float32 rounding of ±γ/2, where the smooth-step saturates): its
 * weight is below the tolerance, so it is counted, not failed.
 */
export function compareSelectorRouting(gpu: Routing, reference: Routing): GateAgreement {
  const { tokens, k: E } = reference, near = new Set<number>();
  let maxWeightError = 0;
  const fail = (problem: string) => ({ nearTies: near.size, maxWeightError, problem });
  if (gpu.experts.length !== tokens * E) {
    return fail(`expected ${tokens}×${E} slots, got ${gpu.experts.length}`);
  }
  for (let s = 0; s < tokens * E; s++) {
    const a = gpu.experts[s], e = s % E, w = gpu.weights[s];
    if (a !== -1 && a !== e) return fail(`slot ${s}: expert ${a} in expert ${e}'s slot`);
    if ((a === e) !== (w > 0)) return fail(`slot ${s}: expert ${a} with weight ${w}`);
    const err = Math.abs(w - reference.weights[s]);
    if (!(err <= maxWeightError)) maxWeightError = Number.isNaN(err) ? Infinity : err;
    if (a !== reference.experts[s]) near.add(Math.floor(s / E));
  }
  if (maxWeightError > GATE_WEIGHT_TOLERANCE) {
    return fail(
      `slot weights differ from the reference by up to ${maxWeightError.toExponential(2)}`,
    );
  }
  return { nearTies: near.size, maxWeightError, problem: null };
}
