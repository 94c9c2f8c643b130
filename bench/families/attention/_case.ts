// What every attention task does with a method, whatever its inputs: upload the case once, bind
// each method, time it, then apply the family's gate (_gate.ts) to its GPU output — on a small
// odd-shaped check input in full, and on the task's scored rows of the timed input — and let
// the task score those rows.
import type { GpuContext } from "../../gpu/device.ts";
import { TimedSubmit } from "../../gpu/timed_submit.ts";
import type { Method, MetricSpec, ParamValues } from "../../metadata.ts";
import type {
  DumpTensor,
  PreparedCase,
  Sample,
  TaskContext,
  Trial,
  TrialResult,
} from "../../plugin.ts";
import { describeTolerance } from "./_compare.ts";
import {
  checkAgainstReference,
  type GateVerdict,
  referenceRow,
  type RowReference,
  type ScoredRow,
} from "./_gate.ts";
import {
  attentionFlops,
  type AttentionGpuInputs,
  type AttentionInputs,
  type AttentionMethod,
  type AttentionShape,
  densePairsPerHead,
  queryCount,
} from "./_interface.ts";
import { attendRow } from "./_reference.ts";
import {
  type AttentionResult,
  computeOnce,
  destroyInputs,
  readResults,
  uploadInputs,
} from "./_run.ts";

/** The throughput figure the runner adds to every attention cell (from the trial's FLOPs). */
export const ACHIEVED_GFLOPS_METRIC: MetricSpec = {
  name: "achieved_gflops",
  description: "FLOPs actually computed / p50 latency",
  higherIsBetter: true,
  unit: "GFLOP/s",
};

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

/** Times a host-driven kernel (a peer library) by wall clock, one computation per sample. */
async function sampleHostDriven(run: () => Promise<void>): Promise<Sample> {
  const start = performance.now();
  await run();
  return { wallMs: performance.now() - start, kernelMs: null, reps: 1 };
}

/** The check input's tensors, GPU output and CPU reference output, for `--dump`. */
function checkDumps<V extends Readonly<ParamValues>>(
  method: AttentionMethod<V>,
  params: V,
  check: { shape: AttentionShape; inputs: AttentionInputs; result: AttentionResult },
): DumpTensor[] {
  const { shape, inputs, result } = check;
  const d = shape.headDim;
  const queries = queryCount(shape);
  const expected = new Float32Array(shape.heads * queries * d);
  for (let head = 0; head < shape.heads; head++) {
    for (let row = 0; row < queries; row++) {
      const keys = method.selectKeys({ shape, inputs, params }, head, row);
      expected.set(attendRow(inputs, shape, head, row, keys).out, (head * queries + row) * d);
    }
  }
  const dims = [shape.heads, queries, d];
  return [
    { name: "q", shape: dims, data: inputs.q },
    { name: "k", shape: [shape.heads, shape.seq, d], data: inputs.k },
    { name: "v", shape: [shape.heads, shape.seq, d], data: inputs.v },
    { name: "output_gpu", shape: dims, data: result.out },
    { name: "output_cpu_reference", shape: dims, data: expected },
    {
      name: "visited_keys",
      shape: [shape.heads, queries],
      data: Float32Array.from(result.visited),
    },
  ];
}

/** The check's description for the run file. */
function describeCheck(
  spec: AttentionCaseSpec,
  timed: GateVerdict,
  check: GateVerdict,
): string {
  const { checkShape } = spec;
  if (!timed.passed || !check.passed) {
    return [
      ...timed.problems.map((p) => `scored rows of the timed input: ${p}`),
      ...check.problems.map((p) => `the check input: ${p}`),
    ].join("; ");
  }
  const checkInput = `${checkShape.heads}-head, ${
    queryCount(checkShape)
  }-query × ${checkShape.seq}-key, d=${checkShape.headDim}`;
  const excused = timed.excused + check.excused;
  return `GPU output equals the method's CPU reference on a ${checkInput} check input and on ${spec.rows.length} scored rows of the timed input${
    excused > 0 ? ` (${excused} rows decided by a near-tie excused)` : ""
  }`;
}

/**
 * Prepares one case of an attention task: uploads its inputs (when there is a GPU) and returns
 * what the runner binds methods to.
 *
 * @param spec the case's shape, inputs, scored rows, check input and scorer
 * @param ctx the run's context (its GPU, if any)
 * @returns the prepared case
 */
export async function prepareAttentionCase(
  spec: AttentionCaseSpec,
  ctx: TaskContext,
): Promise<PreparedCase> {
  const { shape, inputs, rows, checkShape, checkInputs } = spec;
  const gpu: GpuContext | null = ctx.gpu;
  let gpuInputs: AttentionGpuInputs | null = null;
  let checkGpuInputs: AttentionGpuInputs | null = null;
  let uploadMs: number | null = null;
  if (gpu) {
    const start = performance.now();
    gpuInputs = uploadInputs(gpu, inputs);
    checkGpuInputs = uploadInputs(gpu, checkInputs);
    await gpu.device.queue.onSubmittedWorkDone();
    uploadMs = performance.now() - start;
  }

  const referenceRows = (method: AttentionMethod, params: ParamValues): RowReference[] =>
    rows.map((at) => referenceRow(method, { shape, inputs, params }, at));

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
      const kernel = await impl.setup(gpu, { shape, inputs: gpuInputs, params });
      const run = kernel.run?.bind(kernel);
      const timer = run ? null : new TimedSubmit(gpu, (encoder) => kernel.encode(encoder));
      const checkBuffers = checkGpuInputs;
      return {
        setup: { compileMs: kernel.compileMs, uploadMs },
        sample: () => run ? sampleHostDriven(run) : timer!.sample(),
        async finish(): Promise<TrialResult> {
          const d = shape.headDim;
          await kernel.finalize?.();
          const result = await readResults(gpu, kernel, shape);
          const ref = referenceRows(impl, params);
          const rowOut = (i: number) => {
            const slot = rows[i].head * queryCount(shape) + rows[i].row;
            return result.out.subarray(slot * d, (slot + 1) * d);
          };
          const timed = checkAgainstReference(impl, { shape, inputs, params }, result, {
            rows,
            reference: (i) => ref[i],
          });
          const checkProblem = { shape: checkShape, inputs: checkInputs, params };
          const checkResult = await computeOnce(gpu, impl, {
            ...checkProblem,
            inputs: checkBuffers,
          });
          const check = checkAgainstReference(impl, checkProblem, checkResult);
          const pairs = result.visited.reduce((a, b) => a + b, 0);
          const densePairs = shape.heads * densePairsPerHead(shape);
          const flops = attentionFlops(pairs, d) + kernel.extraFlops;
          const passed = timed.passed && check.passed;
          return {
            check: {
              passed,
              description: describeCheck(spec, timed, check),
              maxAbsError: Math.max(timed.maxAbsError, check.maxAbsError),
              tolerance: describeTolerance(),
            },
            metrics: spec.score(rowOut, ref),
            sparsity: {
              nominalDensity: impl.nominalDensity(shape, params),
              realizedDensity: pairs / densePairs,
              flopsRatio: flops / attentionFlops(densePairs, d),
            },
            flops,
            dumps: ctx.dump
              ? checkDumps(impl, params, {
                shape: checkShape,
                inputs: checkInputs,
                result: checkResult,
              })
              : [],
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
