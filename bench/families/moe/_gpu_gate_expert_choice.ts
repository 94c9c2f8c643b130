// Expert-choice routing in WGSL: router logits and a float32 softmax (the softmax gate's passes,
// every expert's probability into its slot), then each expert's top `take` tokens by probability
// as a radix select over the probabilities' bits (non-negative floats order as their u32 bits):
// four rounds of an 8-bit histogram over chunks of tokens and a scan that fixes one byte of the
// expert's threshold, then the tokens above the threshold and, of those at it, the earliest ones
// (ties to the earlier token, as the CPU gate's sort). No invocation loops over more than one
// chunk, so 64k tokens stay within llvmpipe's loop limit. Plain reference:
// `expertChoiceReference`.
import { compileCompute, createStorage, uploadStorage } from "../../gpu/buffers.ts";
import { bindInOrder, type Pass } from "../../gpu/passes.ts";
import {
  assertGpuLoops,
  GATE_PARAMS_WGSL,
  type GpuGate,
  grid2d,
  LOGITS_WGSL,
  SELECT_WGSL,
} from "./_gpu_gate.ts";
import type { GpuExpertChoicePlan } from "./_interface.ts";

/** Tokens per chunk of the selection passes: one invocation scans one chunk for one expert. */
export const EC_CHUNK = 1024;

/** Radix rounds: 8 bits of the 32-bit key each, most significant first. */
const ROUNDS = 4;

// p0: the round (0…3), p1: tokens each expert takes. Slots are [tokens × experts]; before the
// last pass `weights[t·E + e]` holds S[t, e].
const SELECT_COMMON = GATE_PARAMS_WGSL + /* wgsl */ `
fn chunks() -> u32 { return (g.tokens + ${EC_CHUNK}u - 1u) / ${EC_CHUNK}u; }
`;

/**
 * One invocation per (chunk, expert): adds its tokens whose key's bits above this round's byte
 * equal the expert's threshold so far to the expert's histogram of this round's byte.
 */
const HISTOGRAM_WGSL = SELECT_COMMON + /* wgsl */ `
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> hist: array<atomic<u32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let e = id.x % g.experts;
  let c = id.x / g.experts;
  if (c >= chunks()) { return; }
  let shift = 24u - 8u * g.p0;
  var mask = 0u;
  var prefix = 0u;
  if (g.p0 > 0u) {
    mask = 0xffffffffu << (shift + 8u);
    prefix = state[2u * e];
  }
  let end = min(g.tokens, (c + 1u) * ${EC_CHUNK}u);
  for (var t = c * ${EC_CHUNK}u; t < end; t++) {
    let key = bitcast<u32>(weights[t * g.experts + e]);
    if ((key & mask) == prefix) {
      atomicAdd(&hist[e * 256u + ((key >> shift) & 255u)], 1u);
    }
  }
}`;

/**
 * One invocation per expert: from the highest byte down, the byte at which the expert's count of
 * tokens still to take is reached; it joins the threshold, the count falls by the tokens above
 * it, and the histogram is cleared for the next round (and the next run).
 */
const SCAN_WGSL = SELECT_COMMON + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<storage, read_write> hist: array<atomic<u32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let e = id.x;
  if (e >= g.experts) { return; }
  let shift = 24u - 8u * g.p0;
  var remaining = g.p1;
  var prefix = 0u;
  if (g.p0 > 0u) {
    remaining = state[2u * e + 1u];
    prefix = state[2u * e];
  }
  var above = 0u;
  var digit = 0u;
  for (var i = 0u; i < 256u; i++) {
    let b = 255u - i;
    let n = atomicLoad(&hist[e * 256u + b]);
    if (above + n >= remaining) {
      digit = b;
      break;
    }
    above += n;
  }
  for (var b = 0u; b < 256u; b++) { atomicStore(&hist[e * 256u + b], 0u); }
  state[2u * e] = prefix | (digit << shift);
  state[2u * e + 1u] = remaining - above;
}`;

/** One invocation per (chunk, expert): how many of the chunk's keys equal the threshold. */
const TIES_WGSL = SELECT_COMMON + /* wgsl */ `
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> ties: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let e = id.x % g.experts;
  let c = id.x / g.experts;
  if (c >= chunks()) { return; }
  let thr = state[2u * e];
  let end = min(g.tokens, (c + 1u) * ${EC_CHUNK}u);
  var n = 0u;
  for (var t = c * ${EC_CHUNK}u; t < end; t++) {
    if (bitcast<u32>(weights[t * g.experts + e]) == thr) { n++; }
  }
  ties[c * g.experts + e] = n;
}`;

/**
 * One invocation per (chunk, expert): the expert keeps its tokens above the threshold and, of
 * those at it, the first ones in token order until its count is met (the ties of earlier chunks
 * counted first); its other slots are emptied.
 */
const MARK_WGSL = SELECT_COMMON + /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> weights: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read> ties: array<u32>;
@group(0) @binding(4) var<storage, read_write> slotExpert: array<i32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let e = id.x % g.experts;
  let c = id.x / g.experts;
  if (c >= chunks()) { return; }
  let thr = state[2u * e];
  let need = state[2u * e + 1u];
  var before = 0u;
  for (var q = 0u; q < c; q++) { before += ties[q * g.experts + e]; }
  let end = min(g.tokens, (c + 1u) * ${EC_CHUNK}u);
  for (var t = c * ${EC_CHUNK}u; t < end; t++) {
    let s = t * g.experts + e;
    let key = bitcast<u32>(weights[s]);
    var keep = key > thr;
    if (key == thr) {
      keep = before < need;
      before++;
    }
    if (keep) {
      slotExpert[s] = i32(e);
    } else {
      slotExpert[s] = -1;
      weights[s] = 0.0;
    }
  }
}`;

/**
 * Builds the expert-choice gate's passes for `tokens` inputs already on the device (`x`
 * [tokens × dim]), writing the [tokens × E] slots into `slotExpert` and `weights`.
 *
 * @throws {RangeError} when the router is not E × dim, k is not E, `take` is outside
 *   [1, tokens], or a loop of one invocation would pass llvmpipe's limit
 */
export async function createGpuExpertChoiceGate(
  device: GPUDevice,
  plan: GpuExpertChoicePlan,
  batch: {
    x: GPUBuffer;
    tokens: number;
    dim: number;
    experts: number;
    slotExpert: GPUBuffer;
    weights: GPUBuffer;
  },
): Promise<GpuGate> {
  const { tokens, dim, experts } = batch, take = plan.take(tokens);
  if (plan.router.length !== experts * dim || plan.k !== experts) {
    throw new RangeError(
      `Cannot route expert choice on the GPU: a router of ${plan.router.length} weights and k = ${plan.k}, expected ${experts}×${dim} and k = ${experts}`,
    );
  }
  if (!(Number.isInteger(take) && take >= 1 && take <= tokens)) {
    throw new RangeError(
      `Cannot route expert choice on the GPU: each expert takes ${take} of ${tokens} tokens`,
    );
  }
  const chunks = Math.ceil(tokens / EC_CHUNK);
  assertGpuLoops({
    "the router's input features": dim,
    "the experts of a token": experts,
    "a chunk's tokens": Math.min(EC_CHUNK, tokens),
    "an expert's earlier chunks": chunks,
  });
  const uniform = (round: number, select: number) => {
    const buffer = device.createBuffer({
      size: 32,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(
      buffer,
      0,
      Uint32Array.from([tokens, experts, dim, experts, select, 0, round, take]),
    );
    return buffer;
  };
  // Round r's uniform (the softmax pass's too: select 1 = every expert, weighted by probability).
  const params = Array.from({ length: ROUNDS }, (_, r) => uniform(r, 1));
  const router = uploadStorage(device, plan.router, "moe expert-choice router");
  const logits = createStorage(device, Math.max(1, tokens * experts) * 4, "moe ec logits");
  const state = createStorage(device, experts * 2 * 4, "moe ec thresholds");
  const hist = createStorage(device, experts * 256 * 4, "moe ec histograms");
  const ties = createStorage(device, chunks * experts * 4, "moe ec ties");
  const compiled = await Promise.all(
    [LOGITS_WGSL, SELECT_WGSL, HISTOGRAM_WGSL, SCAN_WGSL, TIES_WGSL, MARK_WGSL].map((code, i) =>
      compileCompute(device, code, `moe expert-choice pass ${i}`)
    ),
  );
  const [scores, softmax, histogram, scan, tie, mark] = compiled.map((c) => c.pipeline);
  const perChunk: [number, number, number] = [Math.ceil(chunks * experts / 64), 1, 1];
  const passes: Pass[] = [
    [
      scores,
      bindInOrder(device, scores, [params[0], batch.x, router, logits]),
      grid2d(Math.ceil(tokens / 4) * Math.ceil(experts / 4)),
    ],
    [
      softmax,
      bindInOrder(device, softmax, [params[0], logits, batch.slotExpert, batch.weights]),
      grid2d(tokens),
    ],
  ];
  for (let r = 0; r < ROUNDS; r++) {
    passes.push(
      [
        histogram,
        bindInOrder(device, histogram, [params[r], batch.weights, state, hist]),
        perChunk,
      ],
      [scan, bindInOrder(device, scan, [params[r], state, hist]), [Math.ceil(experts / 64), 1, 1]],
    );
  }
  passes.push(
    [tie, bindInOrder(device, tie, [params[0], batch.weights, state, ties]), perChunk],
    [
      mark,
      bindInOrder(device, mark, [params[0], batch.weights, state, ties, batch.slotExpert]),
      perChunk,
    ],
  );
  return {
    passes,
    compileMs: compiled.reduce((n, c) => n + c.compileMs, 0),
    dispose() {
      for (const buffer of [...params, router, logits, state, hist, ties]) buffer.destroy();
    },
  };
}
