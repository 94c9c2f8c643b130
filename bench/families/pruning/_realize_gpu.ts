// A pruned chain of Linear layers (an MLP) on WebGPU with each layer in the format that runs it
// fastest on this adapter — dense, CSR or N:M-compressed (_sparse_gpu.ts) — chosen by timing
// every candidate on that layer at the timed batch, the layers chained on the device over one
// activation layout. The unpruned baseline goes through the same choice, so a speed-up is the
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

/** The numeric code of each format, for a cell's `kernel_<layer>` metric (as on the CPU). */
export const GPU_FORMAT_CODES: Record<GpuLinearFormat, number> = { dense: 0, csr: 1, "n:m": 2 };

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
}

/** One layer's choice and what each candidate took. */
export interface GpuLayerChoice {
  layer: Linear;
  chosen: GpuLinear;
  /** Wall ms per product of each candidate (a submit of `tuneReps` dispatches, best of two). */
  candidateMs: Partial<Record<GpuLinearFormat, number>>;
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
 * keeps the fastest per layer and chains them.
 */
export async function createGpuChain(gpu: GpuContext, options: GpuChainOptions): Promise<GpuChain> {
  const { device } = gpu;
  const { layers, batch } = options;
  const start = performance.now();
  const buffers: GPUBuffer[] = [];
  const keep = (b: GPUBuffer) => (buffers.push(b), b);
  const activations = [
    keep(uploadActivations(device, options.input, { features: layers[0].inFeatures, batch })),
    ...layers.map((l) => keep(createActivations(device, { features: l.outFeatures, batch }))),
  ];
  const choices: GpuLayerChoice[] = [];
  let compileMs = 0, tuneMs = 0, flops = 0, denseFlops = 0;
  for (const [i, layer] of layers.entries()) {
    const relu = options.reluBetween && i < layers.length - 1;
    const candidates = await gpuCandidates(device, layer, relu, options.nm ?? null);
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
    choices.push({ layer, chosen: best, candidateMs });
    flops += 2 * batch * best.storedWeights;
    denseFlops += 2 * batch * layer.inFeatures * layer.outFeatures;
  }
  await device.queue.onSubmittedWorkDone();
  const last = layers[layers.length - 1];
  return {
    choices,
    encode(encoder) {
      choices.forEach((c, i) =>
        c.chosen.encode(encoder, activations[i], activations[i + 1], batch)
      );
    },
    readOutput: () =>
      readActivations(device, activations[layers.length], { features: last.outFeatures, batch }),
    compileMs,
    uploadMs: performance.now() - start - compileMs - tuneMs,
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
  layer: Linear,
  relu: boolean,
  nm: { n: number; m: number } | null,
): Promise<GpuLinear[]> {
  const weights = {
    weight: layer.weight.data,
    mask: layer.weight.mask,
    rows: layer.outFeatures,
    cols: layer.inFeatures,
    bias: layer.bias?.data ?? null,
  };
  const candidates = [await uploadDenseLinear(device, weights, { relu })];
  // Sparse formats only where they skip work: on a layer without zeros they can only lose, and
  // a noisy timing must not hand the dense baseline a slower kernel.
  if (layer.weight.effective().some((v) => v === 0)) {
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
    metrics[layerMetric("kernel", layer.weight.name)] = GPU_FORMAT_CODES[chosen.format];
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
