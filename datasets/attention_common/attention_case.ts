// What every attention task does with a method, whatever its inputs: upload the case once, bind
// each method, time it, then check its GPU output against the method's own CPU reference (on a
// small odd-shaped check input in full, and on the task's scored rows of the timed input) and
// let the task score those rows.
import { readBack, uploadStorage } from "../../bench/gpu/buffers.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import { TimedSubmit } from "../../bench/gpu/timed_submit.ts";
import type { Method, MetricSpec, ParamValues } from "../../bench/metadata.ts";
import type {
  DumpTensor,
  PreparedCase,
  Sample,
  TaskContext,
  Trial,
  TrialResult,
} from "../../bench/plugin.ts";
import {
  attentionFlops,
  type AttentionGpuInputs,
  type AttentionInputs,
  type AttentionKernel,
  type AttentionMethod,
  type AttentionShape,
  densePairsPerHead,
  queryCount,
} from "../../methods/attention/interface.ts";
import { attendRow } from "../../methods/attention/reference.ts";
import { allFinite, compareWithin, describeTolerance } from "./compare.ts";

/** The throughput figure the runner adds to every attention cell (from the trial's FLOPs). */
export const ACHIEVED_GFLOPS_METRIC: MetricSpec = {
  name: "achieved_gflops",
  description: "FLOPs actually computed / p50 latency",
  higherIsBetter: true,
  unit: "GFLOP/s",
};

/** A query row the task scores. */
export interface ScoredRow {
  head: number;
  row: number;
}

/** The method's CPU reference for one scored row. */
export interface RowReference {
  keys: Int32Array;
  out: Float64Array;
}

/** What a task supplies for one case. */
export interface AttentionCaseSpec {
  shape: AttentionShape;
  inputs: AttentionInputs;
  /** sha256 of the exact inputs. */
  datasetSha256: string;
  /** Set when the data differs from what the task's metadata names (a substitution). */
  datasetNote?: string;
  /** The rows the task scores (and the gate compares) on the timed input. */
  rows: ScoredRow[];
  /** The small input every method is checked on in full. */
  checkShape: AttentionShape;
  checkInputs: AttentionInputs;
  /**
   * The task's quality metrics for a method, from its output rows (GPU output, or the CPU
   * reference when no GPU ran) and its reference selection, both indexed like `rows`.
   */
  score(
    rowOut: (i: number) => ArrayLike<number>,
    reference: RowReference[],
  ): Record<string, number>;
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

/** One computation of a kernel, its results left in its output buffers. */
async function executeOnce(gpu: GpuContext, kernel: AttentionKernel): Promise<void> {
  if (kernel.run) {
    await kernel.run();
    await kernel.finalize?.();
    return;
  }
  const encoder = gpu.device.createCommandEncoder();
  kernel.encode(encoder);
  gpu.device.queue.submit([encoder.finish()]);
}

/** Times a host-driven kernel (a peer library) by wall clock, one computation per sample. */
async function sampleHostDriven(run: () => Promise<void>): Promise<Sample> {
  const start = performance.now();
  await run();
  return { wallMs: performance.now() - start, kernelMs: null, reps: 1 };
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
    await executeOnce(gpu, kernel);
    const n = shape.heads * queryCount(shape) * shape.headDim;
    const out = new Float32Array(await readBack(gpu.device, kernel.output, n * 4));
    const visited = new Uint32Array(
      await readBack(gpu.device, kernel.visited, shape.heads * queryCount(shape) * 4),
    );
    const expected = new Float32Array(n);
    const compared: number[] = [];
    const reference: number[] = [];
    let visitedOk = true;
    let excused = 0;
    for (let head = 0; head < shape.heads; head++) {
      for (let row = 0; row < queryCount(shape); row++) {
        const keys = method.selectKeys(shape, params, inputs, head, row);
        const at = (head * queryCount(shape) + row) * shape.headDim;
        expected.set(attendRow(inputs, shape, head, row, keys).out, at);
        if (visited[head * queryCount(shape) + row] !== keys.length) visitedOk = false;
        if (method.ambiguousRow?.(shape, params, inputs, head, row)) {
          excused++;
          continue;
        }
        compared.push(...out.subarray(at, at + shape.headDim));
        reference.push(...expected.subarray(at, at + shape.headDim));
      }
    }
    const cmp = compareWithin(compared, reference);
    const dims = [shape.heads, queryCount(shape), shape.headDim];
    const dumps: DumpTensor[] = [
      { name: "q", shape: dims, data: inputs.q },
      { name: "k", shape: [shape.heads, shape.seq, shape.headDim], data: inputs.k },
      { name: "v", shape: [shape.heads, shape.seq, shape.headDim], data: inputs.v },
      { name: "output_gpu", shape: dims, data: out },
      { name: "output_cpu_reference", shape: dims, data: expected },
      {
        name: "visited_keys",
        shape: [shape.heads, queryCount(shape)],
        data: Float32Array.from(visited),
      },
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

/**
 * Prepares one case of an attention task: uploads its inputs (when there is a GPU) and returns
 * what the runner binds methods to.
 */
export async function prepareAttentionCase(
  spec: AttentionCaseSpec,
  ctx: TaskContext,
): Promise<PreparedCase> {
  const { shape, inputs, rows, checkShape, checkInputs } = spec;
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

  const referenceRows = (method: AttentionMethod, params: ParamValues): RowReference[] =>
    rows.map(({ head, row }) => {
      const keys = method.selectKeys(shape, params, inputs, head, row);
      return { keys, out: attendRow(inputs, shape, head, row, keys).out };
    });

  return {
    datasetSha256: spec.datasetSha256,
    datasetNote: spec.datasetNote,
    referenceMetrics(method, params) {
      const ref = referenceRows(method.impl as AttentionMethod, params);
      return Promise.resolve(spec.score((i) => ref[i].out, ref));
    },
    async bind(method: Method, params: ParamValues): Promise<Trial> {
      if (!gpu || !gpuInputs || !checkGpuInputs) {
        throw new Error("this attention task needs a WebGPU device");
      }
      const impl = method.impl as AttentionMethod;
      const mode = shape.causal ? "causal" : "non-causal";
      if (!method.meta.capabilities.features.includes(mode)) {
        throw new Error(`${method.meta.id} does not declare '${mode}' attention`);
      }
      const kernel = await impl.setup(gpu, shape, gpuInputs, params);
      const run = kernel.run?.bind(kernel);
      const timer = run ? null : new TimedSubmit(gpu, (encoder) => kernel.encode(encoder));
      const checkBuffers = checkGpuInputs;
      return {
        setup: { compileMs: kernel.compileMs, uploadMs },
        sample: () => run ? sampleHostDriven(run) : timer!.sample(),
        async finish(): Promise<TrialResult> {
          const d = shape.headDim;
          await kernel.finalize?.();
          const out = new Float32Array(
            await readBack(gpu.device, kernel.output, shape.heads * queryCount(shape) * d * 4),
          );
          const visited = new Uint32Array(
            await readBack(gpu.device, kernel.visited, shape.heads * queryCount(shape) * 4),
          );
          const finite = allFinite(out);
          const ref = referenceRows(impl, params);
          const rowOut = (i: number) => {
            const { head, row } = rows[i];
            return out.subarray(
              (head * queryCount(shape) + row) * d,
              (head * queryCount(shape) + row + 1) * d,
            );
          };
          // Rows decided by a near-tie may legitimately differ; they are excused and counted.
          const decided = rows.flatMap(({ head, row }, i) =>
            impl.ambiguousRow?.(shape, params, inputs, head, row) ? [] : [i]
          );
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
          const pairs = visited.reduce((a, b) => a + b, 0);
          const densePairs = shape.heads * densePairsPerHead(shape);
          const flops = attentionFlops(pairs, d) + kernel.extraFlops;
          const passed = finite && sampled.within && small.within && small.visitedOk;
          const excused = rows.length - decided.length + small.excused;
          const reasons = [
            finite ? "" : "the timed output holds NaN or Inf",
            sampled.within
              ? ""
              : `scored rows of the timed output differ from the CPU reference (max |err| ${
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
          const checkInput = `${checkShape.heads}-head, ${
            queryCount(checkShape)
          }-query × ${checkShape.seq}-key, d=${checkShape.headDim}`;
          return {
            check: {
              passed,
              description: passed
                ? `GPU output equals the method's CPU reference on a ${checkInput} check input and on ${rows.length} scored rows of the timed input${
                  excused > 0 ? ` (${excused} rows decided by a near-tie excused)` : ""
                }`
                : reasons.join("; "),
              maxAbsError: Math.max(sampled.maxAbsError, small.maxAbsError),
              tolerance: describeTolerance(),
            },
            metrics: spec.score(rowOut, ref),
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
          timer?.dispose();
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
