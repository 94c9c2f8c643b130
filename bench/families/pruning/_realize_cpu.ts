// A pruned model's forward pass on the CPU with each Linear layer in the format that runs it
// fastest here — dense, CSR, N:M-compressed, or dense over only the rows and columns that still
// carry weights (a structurally pruned layer shrunk) — on the WebAssembly SIMD kernels, chosen by
// timing every candidate on that layer at the timed batch. This is what answers "does the
// pruned model run faster?" on the CPU: the unpruned baseline goes through the same choice.
import type { Linear, LinearKernel } from "../../nn/layers.ts";
import { denseLinearOnnx } from "../../nn/onnx.ts";
import { mulberry32 } from "../../random.ts";
import type { FactorizedLayer } from "./_interface.ts";
import { layerMetric } from "./_sparsity.ts";
import { columnsRead, gatherSubmatrix } from "./_submatrix.ts";
import {
  type CpuMatmulOptions,
  csrMatmul,
  CsrMatrix,
  denseMatmul,
  DenseMatrix,
  nmMatmul,
  NmMatrix,
} from "./_sparse_cpu.ts";

/**
 * How a layer's product runs: the dense kernel, CSR, N:M, dense over its kept rows and columns,
 * or through its stored factors (x·rightᵀ, then ·leftᵀ, each dense or CSR).
 */
export type CpuFormat = "dense" | "csr" | "n:m" | "shrunk" | "factored";

/** The numeric code of each format, for a cell's `kernel_<layer>` metric. */
export const CPU_FORMAT_CODES: Record<CpuFormat, number> = {
  dense: 0,
  csr: 1,
  "n:m": 2,
  shrunk: 3,
  factored: 4,
};

/** One way to run a layer: what it stores and what it executes per input row. */
export interface CpuCandidate {
  format: CpuFormat;
  /** Bytes of weights and indices it keeps (bias excluded). */
  bytes: number;
  /** Multiply-adds per input row. */
  macsPerRow: number;
  /** y [rows × out] = x [rows × in]·Wᵀ + b into `out`. */
  run(x: Float32Array, rows: number, out: Float32Array): void;
}

/** What was chosen for one layer, and what each candidate took. */
export interface CpuLayerChoice {
  layer: Linear;
  chosen: CpuCandidate;
  /** ms per product of every candidate at the tuned batch. */
  candidateMs: Partial<Record<CpuFormat, number>>;
}

/** What {@link cpuCandidates} may offer besides dense and CSR. */
export interface CandidateOptions {
  /** The N:M pattern to try (offered only if the layer's mask satisfies it). */
  nm?: { n: number; m: number } | null;
  /**
   * The layer that reads this layer's outputs, if it reads nothing else: an output whose
   * column there is all zero is dropped from the shrunk candidate (its value cannot matter).
   */
  consumer?: Linear | null;
  /** The layer's factors, where a factorizing method left them. */
  factors?: FactorizedLayer | null;
}

/**
 * Every format that computes `layer` exactly (the effective weight): dense, CSR, N:M where the
 * mask is N:M for `options.nm`, and shrunk dense where whole rows or columns are gone.
 */
export function cpuCandidates(layer: Linear, options: CandidateOptions = {}): CpuCandidate[] {
  const weight = { data: layer.weight.data, mask: layer.weight.mask, shape: layer.weight.shape };
  const bias = layer.bias?.data ?? null;
  const out = layer.outFeatures, cols = layer.inFeatures;
  const opts = (rows: number, y: Float32Array): CpuMatmulOptions => ({ batch: rows, bias, out: y });
  const dense = DenseMatrix.fromMasked(weight);
  const candidates: CpuCandidate[] = [
    {
      format: "dense",
      bytes: dense.bytes,
      macsPerRow: out * cols,
      run: (x, rows, y) => void denseMatmul(dense, x, opts(rows, y)),
    },
  ];
  // A sparse format is offered only where it skips work: on a layer without zeros it can only
  // lose, and a noisy timing must not hand the dense baseline a slower kernel.
  const csr = CsrMatrix.fromMasked({ ...weight, mask: nonzeroMask(dense.data) });
  if (csr.nnz < out * cols) {
    candidates.push({
      format: "csr",
      bytes: csr.bytes,
      macsPerRow: csr.nnz,
      run: (x, rows, y) => void csrMatmul(csr, x, opts(rows, y)),
    });
  }
  const nm = options.nm ? nmOf(weight, options.nm) : null;
  if (nm) {
    candidates.push({
      format: "n:m",
      bytes: nm.bytes,
      macsPerRow: out * nm.slots,
      run: (x, rows, y) => void nmMatmul(nm, x, opts(rows, y)),
    });
  }
  const shrunk = shrunkCandidate(layer, dense, options.consumer ?? null);
  if (shrunk) candidates.push(shrunk);
  if (options.factors) candidates.push(...factoredCandidates(layer, options.factors));
  return candidates;
}

/**
 * The layer through its factors: t = x·rightᵀ [rows × rank], y = t·leftᵀ + b; each factor dense,
 * or also in CSR where it has zeros (CoSpaDi's sparse coefficients), every combination offered.
 */
function factoredCandidates(layer: Linear, f: FactorizedLayer): CpuCandidate[] {
  const out = layer.outFeatures, rank = f.rank;
  const bias = layer.bias?.data ?? null;
  const rights = factorProducts(f.right, rank, layer.inFeatures);
  const lefts = factorProducts(f.left, out, rank);
  let t = new Float32Array(0);
  return rights.flatMap((right) =>
    lefts.map((left) => ({
      format: "factored" as const,
      bytes: right.bytes + left.bytes,
      macsPerRow: right.macs + left.macs,
      run(x: Float32Array, n: number, y: Float32Array) {
        if (t.length < n * rank) t = new Float32Array(n * rank);
        const tn = t.subarray(0, n * rank);
        right.run(x, n, tn, null);
        left.run(tn, n, y.subarray(0, n * out), bias);
      },
    }))
  );
}

/** One factor's product, dense and (if it has zeros) CSR. */
function factorProducts(data: Float32Array, rows: number, width: number) {
  type Run = (x: Float32Array, n: number, y: Float32Array, b: Float32Array | null) => void;
  const dense = new DenseMatrix({ rows, cols: width, data });
  const variants: { bytes: number; macs: number; run: Run }[] = [{
    bytes: dense.bytes,
    macs: rows * width,
    run: (x, n, y, b) => void denseMatmul(dense, x, { batch: n, bias: b, out: y }),
  }];
  if (data.some((v) => v === 0)) {
    const csr = CsrMatrix.fromMasked({ data, mask: nonzeroMask(data), shape: [rows, width] });
    variants.push({
      bytes: csr.bytes,
      macs: csr.nnz,
      run: (x, n, y, b) => void csrMatmul(csr, x, { batch: n, bias: b, out: y }),
    });
  }
  return variants;
}

/** 1 where the value is nonzero: what a sparse format stores of an effective weight. */
function nonzeroMask(values: Float32Array): Float32Array {
  return values.map((v) => v !== 0 ? 1 : 0);
}

function nmOf(
  weight: { data: Float32Array; mask: Float32Array | null; shape: readonly number[] },
  pattern: { n: number; m: number },
): NmMatrix | null {
  try {
    return NmMatrix.fromMasked(weight, pattern);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}

/**
 * Dense over the rows that can matter (a nonzero weight or bias, and read by the consumer) and
 * the columns with a nonzero weight: x's kept columns are gathered, y's kept rows scattered and
 * the others set to 0, which the consumer's zero columns make exact. Offered only when it drops
 * something.
 */
function shrunkCandidate(
  layer: Linear,
  dense: DenseMatrix,
  consumer: Linear | null,
): CpuCandidate | null {
  const out = layer.outFeatures, cols = layer.inFeatures, w = dense.data;
  const bias = layer.bias?.data ?? null;
  const read = consumer ? columnsRead(consumer) : null;
  const rows: number[] = [], kept: number[] = [];
  for (let r = 0; r < out; r++) {
    let live = bias !== null && bias[r] !== 0;
    for (let c = 0; c < cols && !live; c++) live = w[r * cols + c] !== 0;
    if (live && (!read || read[r])) rows.push(r);
  }
  for (let c = 0; c < cols; c++) {
    if (rows.some((r) => w[r * cols + c] !== 0)) kept.push(c);
  }
  if (rows.length === out && kept.length === cols) return null;
  const data = gatherSubmatrix(w, cols, rows, kept);
  const small = new DenseMatrix({ rows: rows.length, cols: kept.length, data });
  const smallBias = bias ? Float32Array.from(rows, (r) => bias[r]) : null;
  let xs = new Float32Array(0), ys = new Float32Array(0);
  return {
    format: "shrunk",
    bytes: small.bytes,
    macsPerRow: rows.length * kept.length,
    run(x, n, y) {
      if (xs.length < n * kept.length) xs = new Float32Array(n * kept.length);
      if (ys.length < n * rows.length) ys = new Float32Array(n * rows.length);
      for (let b = 0; b < n; b++) {
        for (let j = 0; j < kept.length; j++) xs[b * kept.length + j] = x[b * cols + kept[j]];
      }
      const yk = ys.subarray(0, n * rows.length);
      if (rows.length > 0 && kept.length > 0) {
        denseMatmul(small, xs.subarray(0, n * kept.length), {
          batch: n,
          bias: smallBias,
          out: yk,
        });
      } else if (smallBias) { for (let b = 0; b < n; b++) yk.set(smallBias, b * rows.length); }
      else yk.fill(0);
      y.fill(0, 0, n * out);
      for (let b = 0; b < n; b++) {
        for (let i = 0; i < rows.length; i++) y[b * out + rows[i]] = yk[b * rows.length + i];
      }
    },
  };
}

/** What {@link installFastestCpuKernels} tunes for. */
export interface CpuTuneOptions {
  /** Input rows of the timed forward pass at every layer (a batch of images, a window's tokens). */
  rows: number;
  /** The N:M pattern to offer, if the model was pruned to one. */
  nm?: { n: number; m: number } | null;
  /** Each layer's sole consumer, where the model is a chain (an MLP). */
  consumers?: Map<Linear, Linear>;
  /** Factors a factorizing method reported, to offer running each layer through them. */
  factors?: readonly FactorizedLayer[];
  /** Seed of the random inputs the candidates are timed on. */
  seed: number;
  /** Minimum wall time per candidate (ms); default 3. */
  minMs?: number;
}

/** The kernels installed on a model's layers, and how to take them off again. */
export interface InstalledCpuKernels {
  choices: CpuLayerChoice[];
  /** Wall time of building and timing every candidate. */
  tuneMs: number;
  /**
   * Restores every layer's previous kernel (the engine's dense product for most); calling it
   * again changes nothing.
   */
  remove(): void;
}

/**
 * What ran each of `layers`, in order, as a cell's `sparsity.kernel`: the chosen format, or
 * "per-input" for a layer that kept its own (a per-input method's) kernel.
 */
export function cpuKernelLabel(installed: InstalledCpuKernels, layers: readonly Linear[]): string {
  return layers.map((l) =>
    installed.choices.find((c) => c.layer === l)?.chosen.format ?? "per-input"
  ).join(",");
}

/**
 * Times every candidate of every layer at `options.rows` input rows on seeded inputs and installs
 * the fastest as the layer's kernel (layers that already run a per-input kernel keep it).
 *
 * @param layers the model's prunable layers
 * @param options the batch to tune for, the N:M pattern, consumers, the seed
 * @returns the choices, the tuning time, and `remove`
 */
export function installFastestCpuKernels(
  layers: readonly Linear[],
  options: CpuTuneOptions,
): InstalledCpuKernels {
  const start = performance.now();
  const random = mulberry32(options.seed);
  const choices: CpuLayerChoice[] = [];
  const previous = new Map<Linear, LinearKernel | null>();
  const factors = new Map((options.factors ?? []).map((f) => [f.layer, f]));
  for (const layer of layers) {
    if (layer.kernel) continue;
    const candidates = cpuCandidates(layer, {
      nm: options.nm ?? null,
      consumer: options.consumers?.get(layer) ?? null,
      factors: factors.get(layer) ?? null,
    });
    const x = Float32Array.from({ length: options.rows * layer.inFeatures }, () => random() - 0.5);
    const y = new Float32Array(options.rows * layer.outFeatures);
    const times = fastestPerCall(
      candidates.map((c) => () => c.run(x, options.rows, y)),
      options.minMs ?? 3,
    );
    const candidateMs: Partial<Record<CpuFormat, number>> = {};
    let best = candidates[0], bestMs = Infinity;
    candidates.forEach((c, i) => {
      candidateMs[c.format] = Math.min(candidateMs[c.format] ?? Infinity, times[i]);
      if (times[i] < bestMs) [best, bestMs] = [c, times[i]];
    });
    choices.push({ layer, chosen: best, candidateMs });
    previous.set(layer, layer.kernel);
    layer.kernel = kernelOf(best, layer);
  }
  return {
    choices,
    tuneMs: performance.now() - start,
    remove() {
      for (const [layer, kernel] of previous) layer.kernel = kernel;
    },
  };
}

/**
 * A candidate as a Linear kernel: its own output array per call, its multiply-adds counted; it
 * computes the layer exactly, so its ONNX is the layer's dense product.
 */
function kernelOf(candidate: CpuCandidate, layer: Linear): LinearKernel {
  const out = layer.outFeatures;
  return {
    forward(x, rows) {
      const y = new Float32Array(rows * out);
      candidate.run(x, rows, y);
      return { y, macs: candidate.macsPerRow * rows };
    },
    onnx: (graph, input) => denseLinearOnnx(graph, input, layer),
  };
}

/** Rounds over which {@link installFastestCpuKernels} times its candidates, interleaved. */
const TUNE_ROUNDS = 5;

/**
 * Each run's fastest wall ms per call: two warm-up calls each, then {@link TUNE_ROUNDS} rounds
 * that run every candidate in turn for at least minMs / rounds (and three calls), so drift and
 * warm-up fall on all of them alike.
 */
function fastestPerCall(runs: readonly (() => void)[], minMs: number): number[] {
  for (const run of runs) {
    run();
    run();
  }
  const best = runs.map(() => Infinity);
  for (let round = 0; round < TUNE_ROUNDS; round++) {
    runs.forEach((run, i) => {
      let calls = 0, elapsed = 0;
      const start = performance.now();
      while (calls < 3 || elapsed < minMs / TUNE_ROUNDS) {
        run();
        calls++;
        elapsed = performance.now() - start;
      }
      best[i] = Math.min(best[i], elapsed / calls);
    });
  }
  return best;
}

/**
 * A cell's figures of the installed kernels: each layer's format as `kernel_<layer>` (codes in
 * {@link CPU_FORMAT_CODES}), the bytes of the chosen formats beside the dense weights', the
 * multiply-adds they execute per row as a share of dense, and the tuning time.
 */
export function cpuKernelMetrics(installed: InstalledCpuKernels): Record<string, number> {
  const metrics: Record<string, number> = {};
  let bytes = 0, denseBytes = 0, macs = 0, denseMacs = 0;
  for (const { layer, chosen } of installed.choices) {
    metrics[layerMetric("kernel", layer.weight.name)] = CPU_FORMAT_CODES[chosen.format];
    bytes += chosen.bytes;
    denseBytes += layer.weight.size * 4;
    macs += chosen.macsPerRow;
    denseMacs += layer.inFeatures * layer.outFeatures;
  }
  return {
    ...metrics,
    weight_bytes: bytes,
    dense_weight_bytes: denseBytes,
    kernel_mac_share: denseMacs > 0 ? macs / denseMacs : 1,
    kernel_tune_ms: installed.tuneMs,
  };
}
