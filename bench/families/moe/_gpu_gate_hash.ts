// Hash routing in WGSL: each token's expert is a murmur3-style finalizer of (token id ⊕ seed),
// modulo E, weight 1 — one invocation per token, the first pass of the WebGPU layer. Its plain
// reference is `hashRouteReference` (the same finalizer in TypeScript, as hash routing's gate).
import { compileCompute, uploadStorage } from "../../gpu/buffers.ts";
import { bindInOrder } from "../../gpu/passes.ts";
import { type GpuGate, grid2d } from "./_gpu_gate.ts";
import type { GpuHashPlan, Routing } from "./_interface.ts";

/**
 * u32 products wrap modulo 2³² in WGSL as `Math.imul(…) >>> 0` does in TypeScript, so the two
 * finalizers agree bit for bit.
 */
const HASH_WGSL = /* wgsl */ `
struct H { tokens: u32, experts: u32, seed: u32, p0: u32 };
@group(0) @binding(0) var<uniform> g: H;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> slotExpert: array<i32>;
@group(0) @binding(3) var<storage, read_write> weights: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) grid: vec3<u32>) {
  let t = id.x + id.y * grid.x * 64u;
  if (t >= g.tokens) { return; }
  var h = ids[t] ^ g.seed;
  h = (h ^ (h >> 16u)) * 0x85ebca6bu;
  h = (h ^ (h >> 13u)) * 0xc2b2ae35u;
  h = h ^ (h >> 16u);
  slotExpert[t] = i32(h % g.experts);
  weights[t] = 1.0;
}`;

/** The expert of token id `id`: the finalizer of (id ⊕ seed) modulo E, as the WGSL pass computes it. */
function hashOf(id: number, seed: number, experts: number): number {
  let h = (id ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h % experts;
}

/**
 * The hash plan's routing of `ids`, plainly: one slot per token, weight 1.
 *
 * @throws {RangeError} when fewer than `tokens` ids are given
 */
export function hashRouteReference(plan: GpuHashPlan, ids: Uint32Array, tokens: number): Routing {
  if (ids.length < tokens) {
    throw new RangeError(`Cannot hash-route ${tokens} tokens: ${ids.length} token ids given`);
  }
  const experts = new Int32Array(tokens);
  for (let t = 0; t < tokens; t++) experts[t] = hashOf(ids[t], plan.seed, plan.experts);
  return {
    tokens,
    k: 1,
    experts,
    weights: new Float32Array(tokens).fill(1),
    auxLoss: 0,
    probabilities: null,
  };
}

/**
 * Builds the hash gate's pass for `tokens` token ids (uploaded here, outside the timed passes,
 * as the layer's input is), writing each token's expert and weight 1 into the slot buffers.
 *
 * @throws {RangeError} when fewer than `tokens` ids are given, or E is not the plan's
 */
export async function createGpuHashGate(
  device: GPUDevice,
  plan: GpuHashPlan,
  batch: {
    ids: Uint32Array;
    tokens: number;
    experts: number;
    slotExpert: GPUBuffer;
    weights: GPUBuffer;
  },
): Promise<GpuGate> {
  const { tokens, experts } = batch;
  if (batch.ids.length < tokens) {
    throw new RangeError(`Cannot hash-route ${tokens} tokens: ${batch.ids.length} token ids given`);
  }
  if (plan.experts !== experts) {
    throw new RangeError(
      `Cannot hash-route on the GPU: the plan has ${plan.experts} experts, the layer ${experts}`,
    );
  }
  const params = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(params, 0, Uint32Array.from([tokens, experts, plan.seed >>> 0, 0]));
  const ids = uploadStorage(device, batch.ids.subarray(0, Math.max(1, tokens)), "moe hash ids");
  const hash = await compileCompute(device, HASH_WGSL, "moe gate hash");
  return {
    passes: [[
      hash.pipeline,
      bindInOrder(device, hash.pipeline, [params, ids, batch.slotExpert, batch.weights]),
      grid2d(tokens),
    ]],
    compileMs: hash.compileMs,
    dispose() {
      params.destroy();
      ids.destroy();
    },
  };
}
