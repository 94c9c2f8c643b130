// The kernel task `spmm-crossover`: where does a sparse kernel start beating dense? One seeded,
// pruned Linear layer per case (shape, density, batch, engine); each method names a kernel (dense,
// CSR, N:M, onnxruntime-web's MatMul), the task times y = x·Wᵀ with it and checks y against a
// plain float64 product over the kept weights.
import * as ort from "onnxruntime-web";
import {
  checkedBatchRows,
  compareSpmm,
  createActivations,
  csrMatmul,
  CsrMatrix,
  denseMatmul,
  DenseMatrix,
  type GpuLinear,
  type MaskedWeight,
  nmMatmul,
  NmMatrix,
  type NmPattern,
  nmPatternForDensity,
  readActivations,
  SPMM_FEATURE,
  SPMM_TOLERANCE,
  type SpmmKernel,
  spmmKernelOf,
  type SpmmReference,
  spmmReference,
  uploadActivations,
  uploadCsrLinear,
  uploadDenseLinear,
  uploadNmLinear,
} from "../../bench/families/pruning/mod.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import { TimedSubmit } from "../../bench/gpu/timed_submit.ts";
import {
  defineTask,
  type Method,
  type ParamSpecs,
  type ParamValuesOf,
} from "../../bench/metadata.ts";
import { ortSession } from "../../bench/nn/ort.ts";
import { encodeOnnxModel } from "../../bench/onnx/model.ts";
import {
  type DumpTensor,
  type PreparedCase,
  type Sample,
  SkipCase,
  type TaskContext,
  type Trial,
  type TrialResult,
} from "../../bench/plugin.ts";
import { sha256Hex } from "../../bench/random.ts";
import {
  generateInput,
  generateWeights,
  maskDensity,
  nmMask,
  parseShape,
  type SpmmShape,
  unstructuredMask,
} from "./generator.ts";
import { wallTimer } from "../../bench/wall_timer.ts";

/** out × in: the MNIST MLP's and sotu-lm's layer shapes, and a large square one. */
export const SPMM_SHAPES = [
  "300x784",
  "100x300",
  "384x128",
  "128x512",
  "512x128",
  "256x128",
  "4096x4096",
] as const;

/** Kept shares (%) the full profile runs; 25 and 50 are 1:4 and 2:4. */
export const SPMM_DENSITIES = [1, 5, 10, 20, 25, 30, 40, 50, 60];

/**
 * The quick profile skips cases whose dense product exceeds this many multiply-adds (4096×4096
 * at batch 256 is 2^32): one product there takes about half a second on the wasm engine and one
 * to five seconds on a software WebGPU adapter (llvmpipe), so those four cases alone would take
 * longer than the rest of quick. `smoke` (with `--param`) and `full` run them.
 */
export const QUICK_MAX_MACS = 2 ** 28;

export const SPMM_PARAMS = {
  shape: {
    type: "enum",
    description: "the layer, out×in (rows × cols of W)",
    values: [...SPMM_SHAPES],
    default: "300x784",
    sweep: [...SPMM_SHAPES],
  },
  density: {
    type: "int",
    description:
      "percent of W's weights kept: each row keeps round(density·in) inputs chosen at random (the N:M kernel gets an N:M mask of the same density)",
    default: 10,
    min: 1,
    max: 100,
    sweep: SPMM_DENSITIES,
  },
  batch: {
    type: "int",
    description: "rows of x per product",
    default: 1,
    min: 1,
    max: 4096,
    sweep: [1, 16, 256],
  },
  engine: {
    type: "enum",
    description:
      "where the kernels run: WebAssembly SIMD on one CPU thread, or the WebGPU adapter (cases skipped without one)",
    values: ["wasm", "webgpu"],
    default: "wasm",
    sweep: ["wasm", "webgpu"],
  },
} satisfies ParamSpecs;

type SpmmCase = ParamValuesOf<typeof SPMM_PARAMS>;

/** Test hooks of {@link prepareSpmmCase}. */
export interface SpmmCaseOptions {
  /**
   * Called with the kernel's output, read back, before the check: a test injects a wrong
   * output here to see the check catch it.
   */
  tamper?: (kernel: SpmmKernel, y: Float32Array) => void;
}

/** One kernel bound to the case's inputs: timed, then read back. */
interface Bound {
  setup: Trial["setup"];
  sample(): Promise<Sample>;
  /** y [batch × rows] row-major, as the timed runs left it. */
  output(): Promise<Float32Array>;
  weightBytes: number;
  dispose(): void;
}

/** A masked weight the case multiplies, with what the check and the metrics need of it. */
interface CaseWeight {
  weight: MaskedWeight;
  /** Kept weights. */
  nonzeros: number;
  realizedDensity: number;
  /** The plain product over the checked batch rows, computed on first use. */
  reference(): SpmmReference;
}

function caseWeight(weight: MaskedWeight, x: Float32Array, batch: number): CaseWeight {
  const density = maskDensity(weight.mask!);
  const nonzeros = weight.mask!.reduce((n, v) => (v !== 0 ? n + 1 : n), 0);
  let reference: SpmmReference | null = null;
  return {
    weight,
    nonzeros,
    realizedDensity: density,
    reference: () => reference ??= spmmReference(weight, x, checkedBatchRows(batch, nonzeros)),
  };
}

/** What each kernel executes per output, as a share of the dense rows·cols. */
function executedShare(kernel: SpmmKernel, w: CaseWeight, pattern: NmPattern | null): number {
  if (kernel === "csr") return w.realizedDensity;
  if (kernel === "n:m") {
    const cols = w.weight.shape[1];
    return (Math.ceil(cols / pattern!.m) * pattern!.n) / cols;
  }
  return 1;
}

function bindWasm(
  kernel: Exclude<SpmmKernel, "onnxruntime">,
  w: CaseWeight,
  pattern: NmPattern | null,
  inputs: { x: Float32Array; batch: number; rows: number; ctx: TaskContext },
): Bound {
  const { x, batch, rows, ctx } = inputs;
  // NaN until a kernel writes it: a kernel that skipped its work fails the check.
  const out = new Float32Array(batch * rows).fill(NaN);
  const start = performance.now();
  let run: () => void, bytes: number;
  if (kernel === "dense") {
    const m = DenseMatrix.fromMasked(w.weight);
    run = () => void denseMatmul(m, x, { batch, out });
    bytes = m.bytes;
  } else if (kernel === "csr") {
    const m = CsrMatrix.fromMasked(w.weight);
    run = () => void csrMatmul(m, x, { batch, out });
    bytes = m.bytes;
  } else {
    const m = NmMatrix.fromMasked(w.weight, pattern!);
    run = () => void nmMatmul(m, x, { batch, out });
    bytes = m.bytes;
  }
  const uploadMs = performance.now() - start;
  const timer = wallTimer(run, { targetSampleMs: ctx.minSampleMs });
  return {
    setup: { compileMs: null, uploadMs },
    sample: () => timer.sample(),
    output: () => Promise.resolve(Float32Array.from(out)),
    weightBytes: bytes,
    dispose() {},
  };
}

async function bindOnnxruntime(
  w: CaseWeight,
  inputs: { x: Float32Array; batch: number; rows: number; cols: number; ctx: TaskContext },
): Promise<Bound> {
  const { x, batch, rows, cols, ctx } = inputs;
  const start = performance.now();
  const dense = DenseMatrix.fromMasked(w.weight);
  // MatMul(x [batch × cols], Wᵀ [cols × rows]): Wᵀ of the masked weight as the initializer.
  const transposed = new Float32Array(cols * rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) transposed[c * rows + r] = dense.data[r * cols + c];
  }
  const model = encodeOnnxModel({
    name: "spmm-crossover-matmul",
    docString: `y = x·Wᵀ, W ${rows}×${cols} masked (sparsebench spmm-crossover)`,
    nodes: [{ op: "MatMul", inputs: ["x", "wt"], outputs: ["y"] }],
    inputs: [{ name: "x", shape: [batch, cols] }],
    outputs: [{ name: "y", shape: [batch, rows] }],
    initializers: [{ name: "wt", dims: [cols, rows], data: transposed }],
  });
  const session = await ortSession(model);
  const uploadMs = performance.now() - start;
  const feeds = { x: new ort.Tensor("float32", x, [batch, cols]) };
  let last: Float32Array | null = null;
  const timer = wallTimer(async () => {
    const result = await session.run(feeds);
    last = result.y.data as Float32Array;
  }, { targetSampleMs: ctx.minSampleMs });
  return {
    setup: { compileMs: null, uploadMs },
    sample: () => timer.sample(),
    output: () =>
      Promise.resolve(last ? Float32Array.from(last) : new Float32Array(batch * rows).fill(NaN)),
    weightBytes: dense.bytes,
    dispose() {
      void session.release();
    },
  };
}

async function bindGpu(
  gpu: GpuContext,
  kernel: Exclude<SpmmKernel, "onnxruntime">,
  w: CaseWeight,
  pattern: NmPattern | null,
  inputs: { x: Float32Array; batch: number; rows: number; cols: number; ctx: TaskContext },
): Promise<Bound> {
  const { x, batch, rows, cols, ctx } = inputs;
  const { device } = gpu;
  const start = performance.now();
  const weights = { weight: w.weight.data, mask: w.weight.mask, rows, cols };
  let layer: GpuLinear;
  if (kernel === "dense") layer = await uploadDenseLinear(device, weights);
  else if (kernel === "csr") layer = await uploadCsrLinear(device, weights);
  else layer = await uploadNmLinear(device, weights, pattern!);
  const input = uploadActivations(device, x, { features: cols, batch });
  const output = createActivations(device, { features: rows, batch }, "spmm-output");
  const uploadMs = performance.now() - start - layer.compileMs;
  const timer = new TimedSubmit(gpu, (encoder) => layer.encode(encoder, input, output, batch), {
    targetSubmitMs: ctx.minSampleMs,
  });
  return {
    setup: { compileMs: layer.compileMs, uploadMs: Math.max(0, uploadMs) },
    sample: () => timer.sample(),
    output: () => readActivations(device, output, { features: rows, batch }),
    weightBytes: layer.weightBytes,
    dispose() {
      timer.dispose();
      layer.dispose();
      input.destroy();
      output.destroy();
    },
  };
}

/**
 * Prepares one case: the seeded weight, its unstructured mask at the case's density (and an N:M
 * mask of the same density for the N:M kernel), x, and binds kernels to them.
 *
 * @param caseParams shape, density, batch and engine
 * @param ctx the run's context (seed, device, profile)
 * @param options test hooks
 * @returns the prepared case
 * @throws {SkipCase} for the webgpu engine without an adapter, or a case past
 *   {@link QUICK_MAX_MACS} in the quick profile
 */
export async function prepareSpmmCase(
  caseParams: SpmmCase,
  ctx: TaskContext,
  options: SpmmCaseOptions = {},
): Promise<PreparedCase> {
  const shape: SpmmShape = parseShape(caseParams.shape);
  const { rows, cols } = shape;
  const { batch, engine } = caseParams;
  const density = caseParams.density / 100;
  if (engine === "webgpu" && !ctx.gpu) {
    throw new SkipCase("the webgpu engine needs a WebGPU adapter, and this machine has none");
  }
  if (ctx.profile === "quick" && rows * cols * batch > QUICK_MAX_MACS) {
    throw new SkipCase(
      `quick runs cases of at most 2^28 dense multiply-adds, and this one has ${
        (rows * cols * batch / 2 ** 28).toFixed(1)
      }·2^28 (half a second a product on wasm, seconds on a software WebGPU adapter); the full profile runs it`,
    );
  }
  const data = generateWeights(shape, ctx.seed);
  const mask = unstructuredMask(shape, density, ctx.seed);
  const x = generateInput(cols, batch, ctx.seed);
  const unstructured = caseWeight({ data, mask, shape: [rows, cols] }, x, batch);
  const pattern = nmPatternForDensity(density);
  let structured: CaseWeight | null = null;
  const nmWeight = () =>
    structured ??= caseWeight(
      { data, mask: nmMask(shape, pattern!, ctx.seed), shape: [rows, cols] },
      x,
      batch,
    );
  const denseBytes = 4 * rows * cols;

  const weightOf = (kernel: SpmmKernel, method: Method) => {
    if (kernel === "n:m" && !pattern) {
      throw new SkipCase(
        `${method.meta.id}: no N:M pattern with M ≤ 16 keeps exactly ${caseParams.density}% of the weights`,
      );
    }
    if (kernel === "onnxruntime" && engine !== "wasm") {
      throw new SkipCase(
        `${method.meta.id} runs onnxruntime-web's wasm backend: it has no ${engine} case`,
      );
    }
    return kernel === "n:m" ? nmWeight() : unstructured;
  };
  const formatMetrics = (kernel: SpmmKernel, w: CaseWeight, weightBytes: number) => ({
    weight_bytes: weightBytes,
    bytes_ratio: weightBytes / denseBytes,
    density: w.realizedDensity,
    nonzero_mac_share: w.realizedDensity,
    executed_mac_share: executedShare(kernel, w, pattern),
    ...(kernel === "n:m" ? { nm_n: pattern!.n, nm_m: pattern!.m } : {}),
  });

  return {
    datasetSha256: await sha256Hex(data, mask, x),
    referenceMetrics(method) {
      const kernel = spmmKernelOf(method);
      const w = weightOf(kernel, method);
      const bytes = kernel === "csr"
        ? CsrMatrix.fromMasked(w.weight).bytes
        : kernel === "n:m"
        ? NmMatrix.fromMasked(w.weight, pattern!).bytes
        : denseBytes;
      return Promise.resolve(formatMetrics(kernel, w, bytes));
    },
    async bind(method): Promise<Trial> {
      const kernel = spmmKernelOf(method);
      const w = weightOf(kernel, method);
      const inputs = { x, batch, rows, cols, ctx };
      const bound = kernel === "onnxruntime"
        ? await bindOnnxruntime(w, inputs)
        : engine === "webgpu"
        ? await bindGpu(ctx.gpu!, kernel, w, pattern, inputs)
        : bindWasm(kernel, w, pattern, inputs);
      return {
        setup: bound.setup,
        sample: () => bound.sample(),
        async finish(): Promise<TrialResult> {
          const y = await bound.output();
          options.tamper?.(kernel, y);
          const reference = w.reference();
          const verdict = compareSpmm(y, reference);
          const checked = reference.batchRows.length;
          const where = checked === batch
            ? `all ${batch} row(s) of x`
            : `${checked} of the ${batch} rows of x (evenly spaced, first and last included)`;
          const dumps: DumpTensor[] = ctx.dump
            ? [
              { name: "x", shape: [batch, cols], data: x },
              {
                name: "weight_masked",
                shape: [rows, cols],
                data: DenseMatrix.fromMasked(w.weight).data,
              },
              { name: "y", shape: [batch, rows], data: y },
              {
                name: "y_reference_checked_rows",
                shape: [checked, rows],
                data: Float32Array.from(reference.y),
              },
            ]
            : [];
          return {
            check: {
              passed: verdict.passed,
              description: verdict.passed
                ? `${kernel} output agrees with the plain float64 product over the kept weights on ${where}`
                : `${kernel} output differs from the plain float64 product on ${where}: max |err|/Σ|w||x| ${
                  verdict.maxRelError.toExponential(2)
                }${verdict.nonFinite > 0 ? `, ${verdict.nonFinite} non-finite output(s)` : ""}`,
              maxAbsError: Number.isFinite(verdict.maxAbsError) ? verdict.maxAbsError : null,
              tolerance: `|y − reference| ≤ ${SPMM_TOLERANCE}·Σ|w||x| per output`,
            },
            metrics: {
              max_rel_error: verdict.maxRelError,
              checked_outputs: verdict.compared,
              ...formatMetrics(kernel, w, bound.weightBytes),
            },
            sparsity: {
              nominalDensity: density,
              realizedDensity: w.realizedDensity,
              flopsRatio: executedShare(kernel, w, pattern),
              kernel,
            },
            // FLOPs on the kept weights, so achieved GFLOP/s compares kernels on the useful work.
            flops: 2 * w.nonzeros * batch,
            dumps,
          };
        },
        dispose: () => bound.dispose(),
      };
    },
    dispose() {},
  };
}

export const spmmCrossover = defineTask({
  id: "spmm-crossover",
  family: "pruning",
  title: "Sparse vs dense kernel crossover",
  description:
    "y = x·Wᵀ for one seeded pruned Linear layer per case (shape, density, batch, engine): the dense kernel of the engine on the masked weight is the baseline, CSR and N:M kernels and onnxruntime-web's MatMul are timed against it, each output checked against a plain float64 product over the kept weights. `deno task crossover RUN.json` prints, per shape, batch, engine and kernel, the lowest density at which the sparse kernel is slower than dense.",
  version: "1.0.0",
  mainMetric: "max_rel_error",
  metrics: [
    {
      name: "max_rel_error",
      description:
        "largest |y − reference| / Σ|w||x| over the checked outputs (the check's figure; the check passes at ≤ 1e-5)",
      higherIsBetter: false,
    },
    {
      name: "checked_outputs",
      description: "outputs compared with the reference (all rows of x, or evenly spaced ones)",
      higherIsBetter: true,
    },
    {
      name: "weight_bytes",
      description:
        "bytes of the stored weight in the kernel's format: values and indices (CPU formats as stored; on webgpu the device buffers, padding included)",
      higherIsBetter: false,
      unit: "B",
    },
    {
      name: "bytes_ratio",
      description: "weight_bytes / the dense float32 matrix's 4·rows·cols",
      higherIsBetter: false,
    },
    {
      name: "density",
      description: "share of W's weights the kernel's mask keeps (realized)",
      higherIsBetter: false,
    },
    {
      name: "nonzero_mac_share",
      description:
        "share of the dense multiply-adds a kernel that skips every zero weight would execute: the realized density",
      higherIsBetter: false,
    },
    {
      name: "executed_mac_share",
      description:
        "share of the dense multiply-adds the kernel executes: 1 for dense and onnxruntime-web (zeros multiplied), the density for CSR, stored slots for N:M (a short last group's spare slots included)",
      higherIsBetter: false,
    },
    {
      name: "nm_n",
      description: "N of the N:M pattern the N:M kernel ran (N:M cells only)",
      higherIsBetter: false,
    },
    {
      name: "nm_m",
      description: "M of the N:M pattern the N:M kernel ran (N:M cells only)",
      higherIsBetter: false,
    },
    {
      name: "achieved_gflops",
      description:
        "2·(kept weights)·batch / p50 latency: throughput on the nonzeros, so it ranks kernels as their latencies do",
      higherIsBetter: true,
      unit: "GFLOP/s",
    },
  ],
  referenceMethod: "spmm-dense",
  dataset: {
    id: "spmm-crossover-matrices",
    version: "1.0.0",
    source:
      "generated by datasets/spmm_crossover/generator.ts from the case seed (derived from the run's --seed and the case)",
    license: "CC0-1.0",
    sha256: "f2977723be5ea68c81d4845417117db22c3a57d3b530ccd0bbeba05246bc8c22",
  },
  parameters: SPMM_PARAMS,
  profiles: {
    smoke: { shape: ["100x300"], density: [10], batch: [1], engine: ["wasm"] },
    // The MLP's fc1 and the LM's qkv shapes; 4096×4096 is in full.
    quick: {
      shape: ["300x784", "384x128"],
      density: [10, 50],
      batch: [1, 256],
      engine: ["wasm", "webgpu"],
    },
    full: {
      shape: [...SPMM_SHAPES],
      density: SPMM_DENSITIES,
      batch: [1, 16, 256],
      engine: ["wasm", "webgpu"],
    },
  },
  requiresFeatures: [SPMM_FEATURE],
  impl: { prepare: (caseParams, ctx) => prepareSpmmCase(caseParams, ctx) },
});
