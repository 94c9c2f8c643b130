// A pruned chain of Linear layers (an MLP) on WebGPU with each layer in the format that runs it
// fastest on this adapter — dense, CSR or N:M-compressed (_sparse_gpu.ts) — chosen by timing
// every candidate on that layer at the timed batch, the layers chained on the device over one
// activation layout (or, where structured pruning left dead units, the shrunk chain of smaller
// matrices, if it is faster). The unpruned baseline goes through the same choice, so a speed-up is the
// pruned model's best against the dense model's best on the same device.
import type { Linear } from "../../nn/layers.ts";
import type { GpuContext } from "../../gpu/device.ts";
import {
  createActivations,
  type GpuLinear,
  type GpuLinearFormat,
  readActivations,
  uploadActivations,
  uploadCsrLinear,
  uploadDenseLinear,
  uploadNmLinear,
} from "./_sparse_gpu.ts";
import { layerMetric } from "./_sparsity.ts";
import { columnsRead, shrinkLayerWeights } from "./_submatrix.ts";

/** The numeric code of each format, for a cell's `kernel_<layer>` metric (as on the CPU). */
export const GPU_FORMAT_CODES: Record<GpuLinearFormat, number> = { dense: 0, csr: 1, "n:m": 2 };
/** A layer of the shrunk chain (dense or CSR over its live units), as CPU_FORMAT_CODES.shrunk. */
const SHRUNK_CODE = 3;

/** What {@link createGpuChain} builds. */
export interface GpuChainOptions {
  /** The layers in order; each one's input is the previous one's output. */
  layers: readonly Linear[];
  /** ReLU after every layer but the last (an MLP). */
  reluBetween: boolean;
  /** x [batch × in] of the first layer, row-major. */
  input: Float32Array;
  batch: number;
  /** The N:M pattern to offer, if the model was pruned to one. */
  nm?: { n: number; m: number } | null;
  /** Dispatches per candidate when choosing; default 8. */
  tuneReps?: number;
  /** Keep the shrunk chain where there is one, whatever the timing (to test it). */
  forceShrunk?: boolean;
}

/** One layer's choice and what each candidate took. */
export interface GpuLayerChoice {
  layer: Linear;
  chosen: GpuLinear;
  /** Wall ms per product of each candidate (a submit of `tuneReps` dispatches, best of two). */
  candidateMs: Partial<Record<GpuLinearFormat, number>>;
  /** Whether the layer runs over its live units only (the shrunk chain). */
  shrunk: boolean;
}

/** A model uploaded for one batch: `encode` records its forward pass. */
export interface GpuChain {
  choices: GpuLayerChoice[];
  encode(encoder: GPUCommandEncoder): void;
  /** The last layer's output, [batch × out] row-major. */
  readOutput(): Promise<Float32Array>;
  /** Compile time of the kernels first seen here; upload and tuning time. */
  compileMs: number;
  uploadMs: number;
  tuneMs: number;
  /** Multiply-adds ×2 of one forward pass as the chosen formats execute it. */
  flops: number;
  /** The same, dense. */
  denseFlops: number;
  dispose(): void;
}

/**
 * Uploads every layer in each candidate format, times the candidates on the device at `batch`,
 * keeps the fastest per layer and chains them. Where hidden units are dead (every weight that
 * reads them is zero, as structured pruning leaves them) it also builds the shrunk chain — the
 * smaller dense or CSR matrices of the units that remain, activations compacted between layers
 * — times both whole chains and keeps the faster.
 */
export async function createGpuChain(gpu: GpuContext, options: GpuChainOptions): Promise<GpuChain> {
  const start = performance.now();
  const full = await buildChain(gpu.device, options, fullWeights(options.layers), false);
  const kept = liveUnits(options.layers);
  if (kept.every((k, i) => k.length === options.layers[i].outFeatures)) {
    return { ...full, uploadMs: performance.now() - start - full.compileMs - full.tuneMs };
  }
  const shrunk = await buildChain(gpu.device, options, shrunkWeights(options.layers, kept), true);
  const tuneStart = performance.now();
  const fullMs = await msPerDispatch(gpu.device, full.encode, options.tuneReps ?? 8);
  const shrunkMs = await msPerDispatch(gpu.device, shrunk.encode, options.tuneReps ?? 8);
  const [best, other] = options.forceShrunk || shrunkMs < fullMs ? [shrunk, full] : [full, shrunk];
  other.dispose();
  const tuneMs = full.tuneMs + shrunk.tuneMs + performance.now() - tuneStart;
  const compileMs = full.compileMs + shrunk.compileMs;
  return {
    ...best,
    compileMs,
    tuneMs,
    uploadMs: performance.now() - start - compileMs - tuneMs,
  };
}

/** A layer's weights as a kernel uploads them, and whose layer they are. */
interface ChainLayer {
  layer: Linear;
  weights: {
    weight: Float32Array;
    mask: Float32Array | null;
    rows: number;
    cols: number;
    bias: Float32Array | null;
  };
}

function fullWeights(layers: readonly Linear[]): ChainLayer[] {
  return layers.map((layer) => ({
    layer,
    weights: {
      weight: layer.weight.data,
      mask: layer.weight.mask,
      rows: layer.outFeatures,
      cols: layer.inFeatures,
      bias: layer.bias?.data ?? null,
    },
  }));
}

/**
 * Each layer's outputs that can matter: a hidden unit is live when the next layer reads it with
 * some nonzero weight (a dead one's value, ReLU(bias) or not, never reaches the output); the
 * last layer keeps every output.
 */
function liveUnits(layers: readonly Linear[]): Int32Array[] {
  return layers.map((layer, i) => {
    if (i === layers.length - 1) return Int32Array.from({ length: layer.outFeatures }, (_, r) => r);
    const read = columnsRead(layers[i + 1]);
    return Int32Array.from({ length: layer.outFeatures }, (_, r) => r).filter((r) => read[r]);
  });
}

/** The layers over their live units: rows of the live outputs, columns of the live inputs. */
function shrunkWeights(layers: readonly Linear[], kept: Int32Array[]): ChainLayer[] {
  return layers.map((layer, i) => {
    const rows = kept[i];
    const columns = i === 0
      ? Int32Array.from({ length: layer.inFeatures }, (_, c) => c)
      : kept[i - 1];
    const { weight, bias } = shrinkLayerWeights(layer, rows, columns);
    return {
      layer,
      weights: { weight, mask: null, rows: rows.length, cols: columns.length, bias },
    };
  });
}

/** One chain: per layer the fastest candidate at `batch`, activations sized to its weights. */
async function buildChain(
  device: GPUDevice,
  options: GpuChainOptions,
  chain: ChainLayer[],
  shrunk: boolean,
): Promise<GpuChain & { shrunk: boolean }> {
  const { batch } = options;
  const buffers: GPUBuffer[] = [];
  const keep = (b: GPUBuffer) => (buffers.push(b), b);
  const activations = [
    keep(uploadActivations(device, options.input, { features: chain[0].weights.cols, batch })),
    ...chain.map((l) => keep(createActivations(device, { features: l.weights.rows, batch }))),
  ];
  const choices: GpuLayerChoice[] = [];
  let compileMs = 0, tuneMs = 0, flops = 0, denseFlops = 0;
  for (const [i, { layer, weights }] of chain.entries()) {
    const relu = options.reluBetween && i < chain.length - 1;
    // N:M groups do not survive dropped columns: the shrunk chain is dense or CSR.
    const candidates = await gpuCandidates(
      device,
      weights,
      relu,
      shrunk ? null : options.nm ?? null,
    );
    compileMs += candidates.reduce((n, c) => n + c.compileMs, 0);
    const tuneStart = performance.now();
    const candidateMs: Partial<Record<GpuLinearFormat, number>> = {};
    let best = candidates[0], bestMs = Infinity;
    for (const c of candidates) {
      const ms = await msPerDispatch(
        device,
        (encoder) => c.encode(encoder, activations[i], activations[i + 1], batch),
        options.tuneReps ?? 8,
      );
      candidateMs[c.format] = ms;
      if (ms < bestMs) [best, bestMs] = [c, ms];
    }
    tuneMs += performance.now() - tuneStart;
    for (const c of candidates) if (c !== best) c.dispose();
    choices.push({ layer, chosen: best, candidateMs, shrunk });
    flops += 2 * batch * best.storedWeights;
    denseFlops += 2 * batch * layer.inFeatures * layer.outFeatures;
  }
  await device.queue.onSubmittedWorkDone();
  const last = chain[chain.length - 1].weights;
  return {
    shrunk,
    choices,
    encode(encoder) {
      choices.forEach((c, i) =>
        c.chosen.encode(encoder, activations[i], activations[i + 1], batch)
      );
    },
    readOutput: () =>
      readActivations(device, activations[chain.length], { features: last.rows, batch }),
    compileMs,
    uploadMs: 0,
    tuneMs,
    flops,
    denseFlops,
    dispose() {
      for (const c of choices) c.chosen.dispose();
      for (const b of buffers) b.destroy();
    },
  };
}

/** The layer in every format that computes it exactly: dense, CSR, and N:M where the mask is. */
async function gpuCandidates(
  device: GPUDevice,
  weights: ChainLayer["weights"],
  relu: boolean,
  nm: { n: number; m: number } | null,
): Promise<GpuLinear[]> {
  const candidates = [await uploadDenseLinear(device, weights, { relu })];
  // Sparse formats only where they skip work: on a layer without zeros they can only lose, and
  // a noisy timing must not hand the dense baseline a slower kernel.
  if (effective(weights).some((v) => v === 0)) {
    candidates.push(await uploadCsrLinear(device, weights, { relu }));
  }
  if (nm) {
    try {
      candidates.push(await uploadNmLinear(device, weights, { ...nm, relu }));
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
  return candidates;
}

function effective(w: ChainLayer["weights"]): Float32Array {
  return w.mask ? w.weight.map((v, i) => v * w.mask![i]) : w.weight;
}

/** Wall ms per dispatch: `reps` dispatches in one submit, best of two submits after a warm-up. */
async function msPerDispatch(
  device: GPUDevice,
  encode: (encoder: GPUCommandEncoder) => void,
  reps: number,
): Promise<number> {
  const submit = async () => {
    const encoder = device.createCommandEncoder();
    for (let r = 0; r < reps; r++) encode(encoder);
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - start) / reps;
  };
  await submit();
  return Math.min(await submit(), await submit());
}

/** A cell's figures of a chain: formats per layer, bytes, the chosen formats' FLOPs share. */
export function gpuChainMetrics(chain: GpuChain): Record<string, number> {
  const metrics: Record<string, number> = {};
  let bytes = 0, denseBytes = 0;
  for (const { layer, chosen } of chain.choices) {
    metrics[layerMetric("kernel", layer.weight.name)] = chain.choices[0].shrunk
      ? SHRUNK_CODE
      : GPU_FORMAT_CODES[chosen.format];
    bytes += chosen.weightBytes;
    denseBytes += layer.weight.size * 4;
  }
  return {
    ...metrics,
    weight_bytes: bytes,
    dense_weight_bytes: denseBytes,
    kernel_mac_share: chain.denseFlops > 0 ? chain.flops / chain.denseFlops : 1,
    kernel_tune_ms: chain.tuneMs,
  };
}
