// What every attention task does with a method, whatever its inputs: upload the case once, bind
// each method, time it, then apply the family's gate (_gate.ts) to its GPU output — on a small
// odd-shaped check input in full and on the task's scored rows of the timed input, or on every
// row of the timed input when it is no larger than the check input — and let the task score
// the scored rows, with the keys the GPU attended as the gate matched them.
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
import type { AttentionCalibration, CalibrationRecord } from "./_calibration.ts";
import { describeTolerance } from "./_compare.ts";
import {
  allRows,
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
import { sharePipelines } from "./_pipelines.ts";
import { attendRow } from "./_reference.ts";
import {
  type AttentionResult,
  computeOnce,
  destroyInputs,
  readResults,
  uploadInputs,
} from "./_run.ts";

/**
 * Keys of the check input every attention task checks each method on in full: odd (a multiple of
 * no block size) and as short as lets every method's default budget choose at least three blocks
 * or lines beyond the mandatory ones (own block, window, sinks) on its last row. The binding one is
 * block-sparse selection at density 0.1 of 64-key blocks: keepCount(35 blocks, 0.1) = 4, the own
 * block and three more, first at 34 · 64 + 1 keys (bench/attention_check_input_test.ts).
 */
export const ATTENTION_CHECK_SEQ = 2177;

/** The throughput figure the runner adds to every attention cell (from the trial's FLOPs). */
export const ACHIEVED_GFLOPS_METRIC: MetricSpec = {
  name: "achieved_gflops",
  description: "FLOPs actually computed / p50 latency",
  higherIsBetter: true,
  unit: "GFLOP/s",
};

/**
 * The gate's figures every attention cell reports, for the timed input and the check input apart,
 * and the share of keys attended; tasks list them among their metrics.
 */
export const ATTENTION_GATE_METRICS: MetricSpec[] = [
  ...(["timed", "check"] as const).flatMap((input): MetricSpec[] => {
    const where = input === "timed"
      ? "of the timed input (its scored rows, or every row when it is checked in full)"
      : "of the check input (every row; absent when the timed input is checked in full instead)";
    return [
      {
        name: `${input}_rows_compared`,
        description: `rows ${where} the gate compared with the method's CPU reference`,
        higherIsBetter: true,
      },
      {
        name: `${input}_rows_tie_alternative`,
        description:
          `rows ${where} that matched the CPU selection with a near-tie broken the other way`,
        higherIsBetter: false,
      },
      {
        name: `${input}_rows_excused`,
        description:
          `near-tie rows ${where} that matched no candidate selection and were excused (at most 5% per head and per input)`,
        higherIsBetter: false,
      },
    ];
  }),
  {
    name: "attended_key_share",
    description:
      "keys attended (the kernel's visited counts) / keys visible, over every query row of the timed input: what the cell's realized density counts",
    higherIsBetter: false,
  },
  {
    name: "scored_key_share",
    description:
      "query–key pairs whose exact score q·k the method computes, to choose or to attend (each once), / keys visible, over every query row of the timed input: 1 for the top-k oracle, which scores every key to attend a share of them",
    higherIsBetter: false,
  },
];

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
  /**
   * The small input every method is checked on in full. When the timed input is no larger
   * (heads × queries × keys), every row of the timed input is checked instead, and the check
   * input is not run.
   */
  checkShape: AttentionShape;
  checkInputs: AttentionInputs;
  /**
   * Held-out inputs of the same model and of `shape` (never `inputs`), for methods that
   * calibrate offline; absent when the task has none (such methods then calibrate on seeded
   * random inputs and their cells say so).
   */
  calibration?: AttentionCalibration;
  /** The same for the check input: held-out inputs of `checkShape`. */
  checkCalibration?: AttentionCalibration;
  /**
   * The task's quality metrics for a method, from its output rows and the keys each attended,
   * both indexed like `rows`: the GPU's output and the keys the kernel chose, read back where it
   * leaves its choice (block-sparse and key-mask kernels) and otherwise the selection the gate
   * matched its output to (the CPU reference's, or the same with a near-tie broken the other
   * way); or the CPU reference's output and selection when no GPU ran.
   */
  score(
    rowOut: (i: number) => ArrayLike<number>,
    rowKeys: (i: number) => Int32Array,
  ): Record<string, number>;
}

/** Times a host-driven kernel (a peer library) by wall clock, one computation per sample. */
async function sampleHostDriven(run: () => Promise<void>): Promise<Sample> {
  const start = performance.now();
  await run();
  return { wallMs: performance.now() - start, kernelMs: null, reps: 1 };
}

/** The checked input's tensors, GPU output and CPU reference output, for `--dump`. */
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
      expected.set(attendRow(shape, inputs, { head, row, keys }).out, (head * queries + row) * d);
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

/** Pairs a method computes densely on `shape`: how large an input is to check in full. */
function checkSize(shape: AttentionShape): number {
  return shape.heads * queryCount(shape) * shape.seq;
}

/** A shape in words, e.g. "2-head, 203-query × 203-key, d=64". */
function describeShape(shape: AttentionShape): string {
  return `${shape.heads}-head, ${queryCount(shape)}-query × ${shape.seq}-key, d=${shape.headDim}`;
}

/** The check's description for the run file; `check` is null when the timed input was checked in full. */
function describeCheck(
  spec: AttentionCaseSpec,
  timed: GateVerdict,
  check: GateVerdict | null,
): string {
  const timedRows = check ? "scored rows of the timed input" : "the timed input";
  if (!timed.passed || (check && !check.passed)) {
    return [
      ...timed.problems.map((p) => `${timedRows}: ${p}`),
      ...(check?.problems ?? []).map((p) => `the check input: ${p}`),
    ].join("; ");
  }
  const ties = (v: GateVerdict, where: string) =>
    v.tieAlternatives + v.excused === 0 ? [] : [
      `${where}: ${v.tieAlternatives} of ${v.rows} rows matched with a near-tie broken the other way, ${v.excused} excused`,
    ];
  const notes = [...ties(timed, timedRows), ...(check ? ties(check, "the check input") : [])];
  const note = notes.length > 0 ? ` (${notes.join("; ")})` : "";
  return check
    ? `GPU output equals the method's CPU reference on every row of a ${
      describeShape(spec.checkShape)
    } check input and on ${spec.rows.length} scored rows of the timed input${note}`
    : `GPU output equals the method's CPU reference on every row of the timed input (${
      describeShape(spec.shape)
    })${note}`;
}

/** A calibration's figures under the names of ATTENTION_CALIBRATION_METRICS. */
function calibrationMetrics(c: CalibrationRecord): Record<string, number> {
  return {
    calibration_ms: c.ms,
    calibration_inputs: c.inputs,
    calibration_held_out: c.heldOut ? 1 : 0,
  };
}

/** A verdict's figures under the names of {@link ATTENTION_GATE_METRICS}. */
function gateMetrics(input: "timed" | "check", v: GateVerdict): Record<string, number> {
  return {
    [`${input}_rows_compared`]: v.rows,
    [`${input}_rows_tie_alternative`]: v.tieAlternatives,
    [`${input}_rows_excused`]: v.excused,
  };
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
  const { shape, inputs, rows, checkShape, checkInputs, calibration, checkCalibration } = spec;
  const gpu: GpuContext | null = ctx.gpu;
  // A timed input no larger than the check input is checked in full itself (small cases).
  const separateCheck = checkSize(shape) > checkSize(checkShape);
  let gpuInputs: AttentionGpuInputs | null = null;
  let checkGpuInputs: AttentionGpuInputs | null = null;
  let uploadMs: number | null = null;
  if (gpu) {
    // Smoke's compile times are not for comparing: its cases share each shader's pipeline.
    sharePipelines(gpu.device, ctx.profile === "smoke");
    const start = performance.now();
    gpuInputs = uploadInputs(gpu, inputs);
    if (separateCheck) checkGpuInputs = uploadInputs(gpu, checkInputs);
    await gpu.device.queue.onSubmittedWorkDone();
    uploadMs = performance.now() - start;
  }

  const referenceRows = (method: AttentionMethod, params: ParamValues): RowReference[] =>
    rows.map((at) => referenceRow(method, { shape, inputs, params, calibration }, at));

  return {
    datasetSha256: spec.datasetSha256,
    datasetNote: spec.datasetNote,
    referenceMetrics(method, params) {
      const ref = referenceRows(method.impl as AttentionMethod, params);
      return Promise.resolve(spec.score((i) => ref[i].out, (i) => ref[i].keys));
    },
    async bind(method: Method, params: ParamValues): Promise<Trial> {
      if (!gpu || !gpuInputs) throw new Error("this attention task needs a WebGPU device");
      const impl = method.impl as AttentionMethod;
      const mode = shape.causal ? "causal" : "non-causal";
      if (!method.meta.capabilities.features.includes(mode)) {
        throw new Error(`${method.meta.id} does not declare '${mode}' attention`);
      }
      const kernel = await impl.setup(gpu, { shape, inputs: gpuInputs, params, calibration });
      const run = kernel.run?.bind(kernel);
      const timer = run ? null : new TimedSubmit(gpu, (encoder) => kernel.encode(encoder), {
        targetSubmitMs: ctx.minSampleMs,
      });
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
          const timedProblem = { shape, inputs, params, calibration };
          let timed: GateVerdict;
          let check: GateVerdict | null = null;
          // The keys scored row i attended, as the gate matched the GPU's row (index into timed).
          let gpuKeys: (i: number) => Int32Array;
          let dumped = { shape, inputs, result };
          if (checkBuffers) {
            timed = checkAgainstReference(impl, timedProblem, result, {
              rows,
              reference: (i) => ref[i],
            });
            const selections = timed.selections;
            gpuKeys = (i) => selections[i];
            const checkProblem = {
              shape: checkShape,
              inputs: checkInputs,
              params,
              calibration: checkCalibration,
            };
            const checkResult = await computeOnce(gpu, impl, {
              ...checkProblem,
              inputs: checkBuffers,
            });
            check = checkAgainstReference(impl, checkProblem, checkResult);
            dumped = { shape: checkShape, inputs: checkInputs, result: checkResult };
          } else {
            // Every row, the scored ones' references reused.
            const scored = new Map(rows.map((at, i) => [`${at.head}|${at.row}`, ref[i]]));
            const every = allRows(shape);
            timed = checkAgainstReference(impl, timedProblem, result, {
              rows: every,
              reference: (i) =>
                scored.get(`${every[i].head}|${every[i].row}`) ??
                  referenceRow(impl, timedProblem, every[i]),
            });
            const selections = timed.selections;
            const queries = queryCount(shape);
            gpuKeys = (i) => selections[rows[i].head * queries + rows[i].row];
          }
          const pairs = result.visited.reduce((a, b) => a + b, 0);
          const densePairs = shape.heads * densePairsPerHead(shape);
          const flops = attentionFlops(pairs, d) + kernel.extraFlops;
          const passed = timed.passed && (check?.passed ?? true);
          return {
            check: {
              passed,
              description: describeCheck(spec, timed, check),
              maxAbsError: Math.max(timed.maxAbsError, check?.maxAbsError ?? 0),
              tolerance: describeTolerance(),
            },
            metrics: {
              ...spec.score(rowOut, gpuKeys),
              ...gateMetrics("timed", timed),
              ...(check ? gateMetrics("check", check) : {}),
              attended_key_share: pairs / densePairs,
              scored_key_share: (impl.scoredPairs?.(shape, params, result.visited) ?? pairs) /
                densePairs,
              ...(kernel.tuning ? { kernel_tune_ms: kernel.tuning.tuneMs } : {}),
              ...(kernel.calibration ? calibrationMetrics(kernel.calibration) : {}),
            },
            sparsity: {
              nominalDensity: impl.nominalDensity(shape, params),
              realizedDensity: pairs / densePairs,
              flopsRatio: flops / attentionFlops(densePairs, d),
              ...(kernel.tuning ? { kernel: kernel.tuning.chosen } : {}),
            },
            flops,
            dumps: ctx.dump ? checkDumps(impl, params, dumped) : [],
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
