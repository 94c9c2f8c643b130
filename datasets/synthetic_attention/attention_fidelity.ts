// Task `attention-fidelity`: how close a sparse attention method stays to dense attention on
// structured synthetic heads, and how much faster it runs, in the same run on the same device.
import { readBack, uploadStorage } from "../../bench/gpu/buffers.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import { TimedSubmit } from "../../bench/gpu/timed_submit.ts";
import { defineTask, type Method, type ParamValues } from "../../bench/metadata.ts";
import type {
  DumpTensor,
  PreparedCase,
  TaskContext,
  TaskImpl,
  Trial,
  TrialResult,
} from "../../bench/plugin.ts";
import {
  attentionFlops,
  type AttentionGpuInputs,
  type AttentionInputs,
  type AttentionMethod,
  type AttentionShape,
  densePairsPerHead,
} from "../../methods/attention/interface.ts";
import { attendRow, denseKeys } from "../../methods/attention/reference.ts";
import { allFinite, compareWithin, describeTolerance } from "./compare.ts";
import { generateAttentionInputs } from "./generator.ts";
import { mulberry32, sha256Hex } from "../../bench/random.ts";
import { percentile } from "../../bench/stats.ts";

/** Query rows per head whose outputs are scored against dense on the CPU. */
const SAMPLED_ROWS_PER_HEAD = 32;
/** The small, odd-sized input every method's GPU output is checked on in full. */
const CHECK_SEQ = 317;
const CHECK_HEADS = 2;

interface SampledRow {
  head: number;
  row: number;
}

/** Evenly spaced rows, first and last included, in every head. */
export function sampledRows(shape: AttentionShape, perHead = SAMPLED_ROWS_PER_HEAD): SampledRow[] {
  const rows: SampledRow[] = [];
  const count = Math.min(perHead, shape.seq);
  for (let head = 0; head < shape.heads; head++) {
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) {
      const row = count === 1 ? shape.seq - 1 : Math.round((i * (shape.seq - 1)) / (count - 1));
      if (!seen.has(row)) rows.push({ head, row });
      seen.add(row);
    }
  }
  return rows;
}

/** Dense outputs and softmax weights of the sampled rows, the yardstick for quality. */
interface DenseRows {
  out: Float64Array[];
  weights: Float64Array[];
}

function denseRows(inputs: AttentionInputs, shape: AttentionShape, rows: SampledRow[]): DenseRows {
  const out: Float64Array[] = [];
  const weights: Float64Array[] = [];
  for (const { head, row } of rows) {
    const r = attendRow(inputs, shape, head, row, denseKeys(shape, row));
    out.push(r.out);
    weights.push(r.weights);
  }
  return { out, weights };
}

const BOOTSTRAP_RESAMPLES = 200;

/**
 * Quality of a method's rows against dense: relative L2 error of the outputs, and the share of
 * dense attention mass that falls on the keys the method attends to; each with a 95% interval
 * from a seeded bootstrap over the sampled rows (how much the figure depends on which rows).
 */
export function qualityAgainstDense(
  methodOut: (i: number) => ArrayLike<number>,
  methodKeys: (i: number) => Int32Array,
  dense: DenseRows,
): Record<string, number> {
  const rows = dense.out.length;
  const errSq = new Float64Array(rows);
  const refSq = new Float64Array(rows);
  const mass = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const o = methodOut(i);
    const ref = dense.out[i];
    for (let j = 0; j < ref.length; j++) {
      errSq[i] += (o[j] - ref[j]) ** 2;
      refSq[i] += ref[j] ** 2;
    }
    for (const key of methodKeys(i)) mass[i] += dense.weights[i][key] ?? 0;
  }
  const figures = (pick: (n: number) => number) => {
    let e = 0, r = 0, m = 0;
    for (let n = 0; n < rows; n++) {
      const i = pick(n);
      e += errSq[i];
      r += refSq[i];
      m += mass[i];
    }
    return { error: Math.sqrt(e / r), recall: m / rows };
  };
  const point = figures((n) => n);
  const uniform = mulberry32(0xb007);
  const errors: number[] = [];
  const recalls: number[] = [];
  for (let b = 0; b < BOOTSTRAP_RESAMPLES; b++) {
    const f = figures(() => Math.floor(uniform() * rows));
    errors.push(f.error);
    recalls.push(f.recall);
  }
  errors.sort((a, b) => a - b);
  recalls.sort((a, b) => a - b);
  return {
    rel_l2_error: point.error,
    rel_l2_error_ci95_low: percentile(errors, 2.5),
    rel_l2_error_ci95_high: percentile(errors, 97.5),
    mass_recall: point.recall,
    mass_recall_ci95_low: percentile(recalls, 2.5),
    mass_recall_ci95_high: percentile(recalls, 97.5),
  };
}

function shapeOf(caseParams: ParamValues): AttentionShape {
  return {
    heads: caseParams.heads as number,
    seq: caseParams.seq as number,
    headDim: caseParams.headDim as number,
    causal: caseParams.causal as boolean,
  };
}

function upload(gpu: GpuContext, inputs: AttentionInputs): AttentionGpuInputs {
  return {
    q: uploadStorage(gpu.device, inputs.q, "q"),
    k: uploadStorage(gpu.device, inputs.k, "k"),
    v: uploadStorage(gpu.device, inputs.v, "v"),
  };
}

function destroyInputs(inputs: AttentionGpuInputs | null): void {
  inputs?.q.destroy();
  inputs?.k.destroy();
  inputs?.v.destroy();
}

/** Runs a method once on the check input and compares every element with its CPU reference. */
async function checkOnSmallInput(
  gpu: GpuContext,
  method: AttentionMethod,
  params: ParamValues,
  shape: AttentionShape,
  inputs: AttentionInputs,
  gpuInputs: AttentionGpuInputs,
): Promise<
  { maxAbsError: number; within: boolean; visitedOk: boolean; excused: number; dumps: DumpTensor[] }
> {
  const kernel = await method.setup(gpu, shape, gpuInputs, params);
  try {
    const encoder = gpu.device.createCommandEncoder();
    kernel.encode(encoder);
    gpu.device.queue.submit([encoder.finish()]);
    const n = shape.heads * shape.seq * shape.headDim;
    const out = new Float32Array(await readBack(gpu.device, kernel.output, n * 4));
    const visited = new Uint32Array(
      await readBack(gpu.device, kernel.visited, shape.heads * shape.seq * 4),
    );
    const expected = new Float32Array(n);
    const compared: number[] = [];
    const reference: number[] = [];
    let visitedOk = true;
    let excused = 0;
    for (let head = 0; head < shape.heads; head++) {
      for (let row = 0; row < shape.seq; row++) {
        const keys = method.selectKeys(shape, params, inputs, head, row);
        const at = (head * shape.seq + row) * shape.headDim;
        expected.set(attendRow(inputs, shape, head, row, keys).out, at);
        if (visited[head * shape.seq + row] !== keys.length) visitedOk = false;
        if (method.ambiguousRow?.(shape, params, inputs, head, row)) {
          excused++;
          continue;
        }
        compared.push(...out.subarray(at, at + shape.headDim));
        reference.push(...expected.subarray(at, at + shape.headDim));
      }
    }
    const cmp = compareWithin(compared, reference);
    const dims = [shape.heads, shape.seq, shape.headDim];
    const dumps: DumpTensor[] = [
      { name: "q", shape: dims, data: inputs.q },
      { name: "k", shape: dims, data: inputs.k },
      { name: "v", shape: dims, data: inputs.v },
      { name: "output_gpu", shape: dims, data: out },
      { name: "output_cpu_reference", shape: dims, data: expected },
      { name: "visited_keys", shape: [shape.heads, shape.seq], data: Float32Array.from(visited) },
    ];
    return {
      maxAbsError: cmp.maxAbsError,
      within: cmp.within && allFinite(out),
      visitedOk,
      excused,
      dumps,
    };
  } finally {
    kernel.dispose();
  }
}

async function prepare(caseParams: ParamValues, ctx: TaskContext): Promise<PreparedCase> {
  const shape = shapeOf(caseParams);
  const inputs = generateAttentionInputs(shape, ctx.seed);
  const datasetSha256 = await sha256Hex(inputs.q, inputs.k, inputs.v);
  const rows = sampledRows(shape);
  const dense = denseRows(inputs, shape, rows);
  const checkShape = { ...shape, heads: CHECK_HEADS, seq: CHECK_SEQ };
  const checkInputs = generateAttentionInputs(checkShape, ctx.seed ^ 0x5eed);

  const gpu = ctx.gpu;
  let gpuInputs: AttentionGpuInputs | null = null;
  let checkGpuInputs: AttentionGpuInputs | null = null;
  let uploadMs: number | null = null;
  if (gpu) {
    const start = performance.now();
    gpuInputs = upload(gpu, inputs);
    checkGpuInputs = upload(gpu, checkInputs);
    await gpu.device.queue.onSubmittedWorkDone();
    uploadMs = performance.now() - start;
  }

  const referenceRows = (method: AttentionMethod, params: ParamValues) =>
    rows.map(({ head, row }) => {
      const keys = method.selectKeys(shape, params, inputs, head, row);
      return { keys, out: attendRow(inputs, shape, head, row, keys).out };
    });

  return {
    datasetSha256,
    referenceMetrics(method, params) {
      const ref = referenceRows(method.impl as AttentionMethod, params);
      return Promise.resolve(qualityAgainstDense((i) => ref[i].out, (i) => ref[i].keys, dense));
    },
    async bind(method: Method, params: ParamValues): Promise<Trial> {
      if (!gpu || !gpuInputs || !checkGpuInputs) {
        throw new Error("attention-fidelity needs a WebGPU device");
      }
      const impl = method.impl as AttentionMethod;
      const mode = shape.causal ? "causal" : "non-causal";
      if (!method.meta.capabilities.features.includes(mode)) {
        throw new Error(`${method.meta.id} does not declare '${mode}' attention`);
      }
      const kernel = await impl.setup(gpu, shape, gpuInputs, params);
      const timer = new TimedSubmit(gpu, (encoder) => kernel.encode(encoder));
      const checkBuffers = checkGpuInputs;
      return {
        setup: { compileMs: kernel.compileMs, uploadMs },
        sample: () => timer.sample(),
        async finish(): Promise<TrialResult> {
          const n = shape.heads * shape.seq * shape.headDim;
          const out = new Float32Array(await readBack(gpu.device, kernel.output, n * 4));
          const visited = new Uint32Array(
            await readBack(gpu.device, kernel.visited, shape.heads * shape.seq * 4),
          );
          const finite = allFinite(out);
          const ref = referenceRows(impl, params);
          const d = shape.headDim;
          const rowOut = (i: number) => {
            const { head, row } = rows[i];
            return out.subarray((head * shape.seq + row) * d, (head * shape.seq + row + 1) * d);
          };
          // Rows decided by a near-tie may legitimately differ; they are excused and counted.
          const decided = rows.flatMap(({ head, row }, i) =>
            impl.ambiguousRow?.(shape, params, inputs, head, row) ? [] : [i]
          );
          const excusedRows = rows.length - decided.length;
          const sampled = compareWithin(
            decided.flatMap((i) => [...rowOut(i)]),
            decided.flatMap((i) => [...ref[i].out]),
          );
          const small = await checkOnSmallInput(
            gpu,
            impl,
            params,
            checkShape,
            checkInputs,
            checkBuffers,
          );
          const quality = qualityAgainstDense(rowOut, (i) => ref[i].keys, dense);
          const pairs = visited.reduce((a, b) => a + b, 0);
          const densePairs = shape.heads * densePairsPerHead(shape);
          const flops = attentionFlops(pairs, d) + kernel.extraFlops;
          const passed = finite && sampled.within && small.within && small.visitedOk;
          const reasons = [
            finite ? "" : "the timed output holds NaN or Inf",
            sampled.within
              ? ""
              : `sampled rows of the timed output differ from the CPU reference (max |err| ${
                sampled.maxAbsError.toExponential(2)
              })`,
            small.within
              ? ""
              : `the check input's output differs from the CPU reference (max |err| ${
                small.maxAbsError.toExponential(2)
              })`,
            small.visitedOk
              ? ""
              : "the kernel's visited-key counts differ from the reference selection",
          ].filter(Boolean);
          return {
            check: {
              passed,
              description: passed
                ? `GPU output equals the method's CPU reference on a ${CHECK_HEADS}×${CHECK_SEQ}×${d} check input and on ${rows.length} sampled rows of the timed input${
                  excusedRows + small.excused > 0
                    ? ` (${excusedRows + small.excused} rows decided by a near-tie excused)`
                    : ""
                }`
                : reasons.join("; "),
              maxAbsError: Math.max(sampled.maxAbsError, small.maxAbsError),
              tolerance: describeTolerance(),
            },
            metrics: quality,
            sparsity: {
              nominalDensity: impl.nominalDensity(shape, params),
              realizedDensity: pairs / densePairs,
              flopsRatio: flops / attentionFlops(densePairs, d),
            },
            flops,
            dumps: ctx.dump ? small.dumps : [],
          };
        },
        dispose() {
          timer.dispose();
          kernel.dispose();
        },
      };
    },
    dispose() {
      destroyInputs(gpuInputs);
      destroyInputs(checkGpuInputs);
    },
  };
}

export const attentionFidelity = defineTask<TaskImpl>({
  id: "attention-fidelity",
  family: "attention",
  title: "Attention fidelity on structured synthetic heads",
  description:
    "Seeded q, k, v with attention sinks, a local diagonal and a few strong far tokens (datasets/synthetic_attention/README.md). Each method's output is compared with dense attention on sampled rows.",
  version: "1.0.0",
  mainMetric: "rel_l2_error",
  metrics: [
    {
      name: "rel_l2_error",
      description: "‖o − o_dense‖₂ / ‖o_dense‖₂ over 32 sampled query rows per head",
      higherIsBetter: false,
    },
    {
      name: "mass_recall",
      description:
        "share of dense softmax mass on the keys the method attends to, mean over sampled rows",
      higherIsBetter: true,
    },
    {
      name: "achieved_gflops",
      description: "FLOPs actually computed / p50 latency",
      higherIsBetter: true,
      unit: "GFLOP/s",
    },
  ],
  referenceMethod: "dense-attention",
  dataset: {
    id: "synthetic-attention",
    version: "1.0.0",
    source: "generated by datasets/synthetic_attention/generator.ts from the run seed",
    license: "CC0-1.0 (generated data)",
    sha256: "f3d3882aeaeb5da485ac05f4dbdd6e595b4a939c458382482a2e8ef4fb5922c3",
  },
  parameters: {
    seq: {
      type: "int",
      description: "sequence length",
      default: 2048,
      min: 8,
      max: 65536,
      sweep: [512, 2048],
    },
    heads: { type: "int", description: "attention heads", default: 8, min: 1, max: 64, sweep: [8] },
    headDim: {
      type: "int",
      description: "dimension per head (multiple of 4)",
      default: 64,
      min: 4,
      max: 256,
      sweep: [64],
    },
    causal: {
      type: "boolean",
      description: "causal (prefill) masking",
      default: true,
      sweep: [true],
    },
  },
  profiles: {
    smoke: { seq: [256], causal: [true] },
    quick: { seq: [512, 2048], causal: [true] },
    full: { seq: [512, 2048, 4096, 8192, 16384], causal: [true, false] },
  },
  requiresFeatures: [],
  impl: { prepare },
});
