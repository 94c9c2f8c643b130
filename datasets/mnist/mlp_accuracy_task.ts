// Image-classification pruning tasks (`mnist-mlp-accuracy`, `fmnist-mlp-accuracy`): a pruning
// method prunes the committed reference MLP with calibration images from the training set (a
// sparse-training method instead gets its own committed checkpoint, `<model>-<recipe>`, and the
// cell shows its training cost); the task scores test accuracy on the CPU engine and times
// batch-1 or batch-256 forward passes on WebGPU or on the CPU's WebAssembly kernels, each layer
// in the format fastest on it there.
import {
  batchCalibration,
  type Calibration,
  calibrationSample,
  combineChecks,
  compareLogits,
  cpuKernelLabel,
  cpuKernelMetrics,
  createGpuChain,
  engineCheck,
  executedMacShare,
  gpuChainMetrics,
  installFastestCpuKernels,
  LOGIT_TOLERANCE_TEXT,
  PRUNE_CELL_METRICS,
  pruneCellCheck,
  PrunedModelCache,
  prunedModelDumps,
  pruneMetrics,
  pruneModel,
  type PruneOutcome,
  scoreCounted,
  sparseTrainingOf,
  TRAINING_COST_METRICS,
  trainingCostMetrics,
  zeroMacCounters,
} from "../../bench/families/pruning/mod.ts";
import type { NamedTensor } from "../../bench/nn/safetensors.ts";
import { TimedSubmit } from "../../bench/gpu/timed_submit.ts";
import {
  defineTask,
  type Method,
  type ParamSpecs,
  type ParamValues,
  type ParamValuesOf,
  type Task,
} from "../../bench/metadata.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import type { Mlp } from "../../bench/nn/mlp.ts";
import type {
  CheckResult,
  DumpFile,
  DumpTensor,
  PreparedCase,
  TaskContext,
  TaskImpl,
  Trial,
  TrialResult,
} from "../../bench/plugin.ts";
import { SkipCase } from "../../bench/plugin.ts";
import { wallTimer } from "../../bench/wall_timer.ts";
import { bootstrapInterval, mean } from "../../bench/stats.ts";
import { imagesAsFloat, type ImageSet } from "./idx.ts";
import { loadReferenceMlp } from "./reference_mlp.ts";
import { loadTrainedMlp } from "./trained_mlp.ts";
import { mlpCorrect } from "./train_mlp.ts";
import { exportMlpOnnx } from "../../bench/nn/onnx.ts";
import { ortMlpLogits, ortSession } from "../../bench/nn/ort.ts";
import { argmaxRows } from "../../bench/nn/mlp.ts";

/** Top-1 accuracy of `model` exported to ONNX and run by onnxruntime-web on the first `count` images. */
async function ortAccuracy(model: Mlp, test: ImageSet, count: number): Promise<number> {
  const session = await ortSession(exportMlpOnnx(model));
  try {
    let correct = 0;
    for (let s = 0; s < count; s += 1000) {
      const n = Math.min(1000, count - s);
      const pred = argmaxRows(await ortMlpLogits(session, imagesAsFloat(test, s, n), n), n);
      for (let i = 0; i < n; i++) if (pred[i] === test.labels[s + i]) correct++;
    }
    return correct / count;
  } finally {
    await session.release();
  }
}

const CALIBRATION_BATCH = 256;

/**
 * Calibration: `count` training images drawn by a shuffle seeded with the case seed, in batches
 * of 256 (labels kept for methods that use gradients).
 */
function calibrationOf(
  model: Mlp,
  train: ImageSet,
  count: number,
  seed: number,
): { calibration: Calibration; inputs: NamedTensor[] } {
  const d = train.rows * train.cols;
  const rows = calibrationSample(train.count, count, seed);
  const x = new Float32Array(count * d), y = new Int32Array(count);
  rows.forEach((row, i) => {
    for (let j = 0; j < d; j++) x[i * d + j] = train.images[row * d + j] / 255;
    y[i] = train.labels[row];
  });
  const batch = (b: number) => {
    const s = b * CALIBRATION_BATCH, n = Math.min(CALIBRATION_BATCH, count - s);
    return { x: x.subarray(s * d, (s + n) * d), y: y.subarray(s, s + n), n };
  };
  const calibration = batchCalibration({
    rows: count,
    batches: Math.ceil(count / CALIBRATION_BATCH),
    forward: (b) => void model.forward(batch(b).x, batch(b).n),
    backward(b) {
      const { x, y, n } = batch(b);
      model.backward(softmaxCrossEntropy(model.forward(x, n), y).dlogits);
    },
    logits: (b) => model.forward(batch(b).x, batch(b).n),
    backwardFrom: (dlogits) => void model.backward(dlogits),
    parameters: () => model.parameters(),
  });
  const inputs = [
    { name: "images", shape: [count, d], data: x },
    { name: "labels", shape: [count], data: Float32Array.from(y) },
    { name: "training_rows", shape: [count], data: Float32Array.from(rows) },
  ];
  return { calibration, inputs };
}

export interface ImageTaskSpec {
  id: string;
  title: string;
  modelName: string;
  modelDir: URL;
  dataset: Task["meta"]["dataset"];
  load: (split: "train" | "test") => Promise<ImageSet>;
  description: string;
  /** Whether quick sweeps methods on this task's first case (false: another task is swept). */
  quickSweep?: boolean;
  /** The batches quick times (default 1 and 256). */
  quickBatches?: number[];
}

/** A pruned copy of the reference MLP, what pruning did, and its `--dump` files. */
interface PrunedMlp {
  model: Mlp;
  outcome: PruneOutcome;
  dumps: () => DumpFile[];
  /** A sparse-training checkpoint's training cost from its card (empty for one-shot methods). */
  trainingMetrics: Record<string, number>;
}

/** Multiply-adds of one row through the model's layers, dense. */
function denseMacs(model: Mlp): number {
  return model.layers.reduce((n, l) => n + l.inFeatures * l.outFeatures, 0);
}

const IMAGE_TASK_PARAMS = {
  engine: {
    type: "enum",
    description:
      "where the timed forward runs: WebGPU (dense, CSR or N:M kernels per layer) or the CPU's WebAssembly SIMD kernels (dense, CSR, N:M or shrunk dense per layer); each layer takes the format that is fastest on it at the timed batch",
    values: ["webgpu", "wasm"],
    default: "webgpu",
    sweep: ["webgpu", "wasm"],
  },
  batch: {
    type: "int",
    description: "images per timed forward pass",
    default: 256,
    min: 1,
    max: 10000,
    sweep: [1, 256],
  },
  testImages: {
    type: "int",
    description: "test images scored for accuracy (the first ones)",
    default: 10000,
    min: 100,
    max: 10000,
    sweep: [10000],
  },
  calibration: {
    type: "int",
    description:
      "training images a method calibrates with, drawn by a shuffle seeded with the case seed (never test images)",
    default: 1024,
    min: 1,
    max: 60000,
    sweep: [1024],
  },
} satisfies ParamSpecs;

/**
 * Top-1 accuracy of `model` on the first `count` test images, with its 95% bootstrap interval
 * over those images.
 */
export function accuracyWithInterval(
  model: Mlp,
  test: ImageSet,
  count: number,
): { accuracy: number; accuracy_ci95_low: number; accuracy_ci95_high: number } {
  const correct = Array.from(mlpCorrect(model, test, { start: 0, count }));
  const [low, high] = bootstrapInterval(correct, mean);
  return { accuracy: mean(correct), accuracy_ci95_low: low, accuracy_ci95_high: high };
}

/** Declares an image-MLP accuracy task over one dataset and its reference model. */
export function defineImageMlpTask(spec: ImageTaskSpec): Task<TaskImpl> {
  const cache = new PrunedModelCache<PrunedMlp>();
  async function prepare(
    caseParams: ParamValuesOf<typeof IMAGE_TASK_PARAMS>,
    ctx: TaskContext,
  ): Promise<PreparedCase> {
    const { batch, testImages: count } = caseParams;
    const [train, test] = [await spec.load("train"), await spec.load("test")];
    if (count > test.count) {
      throw new RangeError(`testImages ${count} > the ${test.count} test images`);
    }
    if (caseParams.calibration > train.count) {
      throw new RangeError(
        `Cannot calibrate with ${caseParams.calibration} images: the training set has ${train.count}`,
      );
    }
    const input = imagesAsFloat(test, 0, batch);

    /**
     * A copy of the reference model pruned by `method`, once per run for every case of the task
     * (calibration rows from the task's seed: each case times the same pruned model).
     */
    const pruned = (method: Method, params: ParamValues) =>
      cache.get({
        method,
        params,
        calibration: `rows=${caseParams.calibration},seed=${ctx.taskSeed}`,
      }, () => prune(method, params));
    const prune = async (method: Method, params: ParamValues) => {
      // A sparse-training method's model is its own committed checkpoint, masks included; its
      // `prune` then only reports, and the gate checks the trained masks against its target.
      const training = sparseTrainingOf(method);
      const trained = training
        ? await loadTrainedMlp(spec.modelDir, `${spec.modelName}-${training.recipe(params)}`)
        : null;
      const model = trained?.model ??
        (await loadReferenceMlp(spec.modelDir, spec.modelName)).model;
      const { calibration, inputs } = calibrationOf(
        model,
        train,
        caseParams.calibration,
        ctx.taskSeed,
      );
      const outcome = await pruneModel(method, params, {
        id: spec.modelName,
        model,
        calibration,
      });
      const dumps = () =>
        prunedModelDumps(model, outcome, { method: method.meta.id, params, calibration: inputs });
      // (no calibration: a trained checkpoint saw the whole training split while it trained)
      const trainingMetrics = trained
        ? { ...trainingCostMetrics(trained.card), calibration_rows: 0 }
        : {};
      return { model, outcome, dumps, trainingMetrics } satisfies PrunedMlp;
    };
    /** Accuracy on our engine (multiply-adds counted) and on onnxruntime-web, with the verdict. */
    const quality = async ({ model, outcome, trainingMetrics }: PrunedMlp) => {
      const { value, executedShare } = await scoreCounted(
        model,
        () => accuracyWithInterval(model, test, count),
      );
      // The same pruned model exported to ONNX and run by onnxruntime-web (wasm): a second engine.
      const ort = await ortAccuracy(model, test, count);
      return {
        metrics: {
          ...pruneMetrics(model, outcome, executedShare),
          ...value,
          accuracy_onnxruntime: ort,
          calibration_rows: caseParams.calibration,
          ...trainingMetrics,
        },
        check: (output: CheckResult) =>
          combineChecks(
            engineCheck("accuracy", value.accuracy, ort),
            pruneCellCheck(outcome, output, executedShare),
          ),
        executedShare,
      };
    };

    return {
      datasetSha256: test.sha256,
      async referenceMetrics(method, params) {
        const p = await pruned(method, params);
        return (await quality(p)).metrics;
      },
      async bind(method, params): Promise<Trial> {
        const p = await pruned(method, params);
        // The reference: the CPU engine's own forward (a per-input method's kernels included).
        const cpuLogits = p.model.forward(input, batch);
        const target = p.outcome.target;
        const nm = target.pattern === "n:m" ? { n: target.n, m: target.m } : null;
        const ownKernels = p.model.linears().some((l) => l.kernel !== null);
        const checkOutput = (logits: Float32Array, engine: string): CheckResult => {
          const { passed, maxAbsError } = compareLogits(logits, cpuLogits);
          return {
            passed,
            description: passed
              ? `${engine} logits of ${batch} test image(s) equal the CPU engine's`
              : `${engine} logits differ from the CPU engine's (max |err| ${
                maxAbsError.toExponential(2)
              })`,
            maxAbsError,
            tolerance: LOGIT_TOLERANCE_TEXT,
          };
        };
        const finishWith = async (
          output: CheckResult,
          timed: {
            flopsRatio: number;
            /** Each layer's format, e.g. "csr,csr,dense". */
            kernel: string;
            flops: number | null;
            metrics: Record<string, number>;
            dumps: DumpTensor[];
          },
        ): Promise<TrialResult> => {
          const q = await quality(p);
          return {
            check: q.check(output),
            metrics: { ...q.metrics, ...timed.metrics },
            sparsity: {
              nominalDensity: p.outcome.nominalDensity,
              realizedDensity: p.outcome.realizedDensity,
              flopsRatio: timed.flopsRatio,
              kernel: timed.kernel,
            },
            flops: timed.flops,
            dumps: ctx.dump ? [...timed.dumps, ...p.dumps()] : [],
          };
        };
        const inputDump = { name: "input", shape: [batch, input.length / batch], data: input };
        const gpu = ctx.gpu;
        if (caseParams.engine === "webgpu" && !gpu) {
          throw new SkipCase("no WebGPU adapter on this machine");
        }
        if (caseParams.engine === "wasm" || ownKernels) {
          // The WebAssembly kernels, the fastest format per layer (a per-input method keeps its
          // own kernels, which the GPU path does not run, so it is timed here on either engine).
          const [fc1, fc2, fc3] = p.model.layers;
          const installed = installFastestCpuKernels(p.model.linears(), {
            rows: batch,
            nm,
            consumers: new Map([[fc1, fc2], [fc2, fc3]]),
            factors: p.outcome.report.factors,
            seed: ctx.seed,
          });
          zeroMacCounters(p.model);
          // A batch-1 forward takes about 0.1 ms: each sample repeats it for minSampleMs.
          const timer = wallTimer(() => void p.model.forward(input, batch), {
            targetSampleMs: ctx.minSampleMs,
          });
          return {
            setup: { compileMs: null, uploadMs: installed.tuneMs },
            sample: () => timer.sample(),
            async finish() {
              const logits = p.model.forward(input, batch);
              const flopsRatio = executedMacShare(p.model);
              const metrics = cpuKernelMetrics(installed);
              installed.remove();
              return await finishWith(checkOutput(logits, "WebAssembly kernel"), {
                flopsRatio,
                kernel: cpuKernelLabel(installed, p.model.layers),
                flops: 2 * metrics.kernel_mac_share * denseMacs(p.model) * batch,
                metrics,
                dumps: [inputDump, {
                  name: "logits_cpu_reference",
                  shape: [batch, cpuLogits.length / batch],
                  data: cpuLogits,
                }],
              });
            },
            dispose: () => installed.remove(),
          };
        }
        const net = await createGpuChain(gpu!, {
          layers: p.model.layers,
          reluBetween: true,
          input,
          batch,
          nm,
        });
        const timer = new TimedSubmit(gpu!, (encoder) => net.encode(encoder), {
          targetSubmitMs: ctx.minSampleMs,
        });
        return {
          setup: { compileMs: net.compileMs, uploadMs: net.uploadMs + net.tuneMs },
          sample: () => timer.sample(),
          async finish() {
            const logits = await net.readOutput();
            const classes = cpuLogits.length / batch;
            return await finishWith(checkOutput(logits, "GPU"), {
              flopsRatio: net.flops / net.denseFlops,
              kernel: net.choices.map((c) => `${c.shrunk ? "shrunk-" : ""}${c.chosen.format}`)
                .join(","),
              flops: net.flops,
              metrics: gpuChainMetrics(net),
              dumps: [
                inputDump,
                { name: "logits_gpu", shape: [batch, classes], data: logits },
                { name: "logits_cpu_reference", shape: [batch, classes], data: cpuLogits },
              ],
            });
          },
          dispose() {
            timer.dispose();
            net.dispose();
          },
        };
      },
      dispose() {},
    };
  }

  return defineTask({
    id: spec.id,
    family: "pruning",
    title: spec.title,
    description: spec.description,
    version: "1.2.0",
    mainMetric: "accuracy",
    metrics: [
      {
        name: "accuracy",
        description:
          "top-1 accuracy on the first `testImages` test images; accuracy_ci95_low/high bound it (bootstrap over the images)",
        higherIsBetter: true,
      },
      {
        name: "density",
        description:
          "share of the Linear weights the masks keep (the realized density); density_fc1, density_fc2, density_fc3 give each layer's",
        higherIsBetter: false,
      },
      {
        name: "calibration_rows",
        description: "training images the method was given for calibration",
        higherIsBetter: false,
      },
      ...PRUNE_CELL_METRICS,
      {
        name: "prune_ms",
        description: "wall time of the pruning method itself",
        higherIsBetter: false,
        unit: "ms",
      },
      ...TRAINING_COST_METRICS,
      {
        name: "achieved_gflops",
        description:
          "forward FLOPs as the chosen kernels execute them (2 per stored weight per row) / p50 latency",
        higherIsBetter: true,
        unit: "GFLOP/s",
      },
    ],
    referenceMethod: "dense-unpruned",
    dataset: spec.dataset,
    parameters: IMAGE_TASK_PARAMS,
    profiles: {
      smoke: { engine: ["wasm"], batch: [256], testImages: [500], calibration: [128] },
      // The CPU engine only (this machine's fastest; WebGPU's kernels are in spmm-crossover's
      // quick run and in full), swept on batch 1.
      quick: {
        engine: ["wasm"],
        batch: spec.quickBatches ?? [1, 256],
        testImages: [10000],
        calibration: [1024],
      },
      full: {
        engine: ["webgpu", "wasm"],
        batch: [1, 256],
        testImages: [10000],
        calibration: [1024],
      },
    },
    requiresFeatures: ["mlp"],
    quickSweep: spec.quickSweep,
    // Representative targets for the default suite; full runs every method's whole sweep.
    methodValues: {
      // K-SVD's OMP dominates smoke at 10 iterations; smoke only shows that it runs.
      smoke: { "cospadi.iterations": [2] },
      quick: {
        target: ["50%", "70%", "90%", "2:4"],
        sparsity: ["50%"],
        compression: ["30%"],
        density: ["uniform"],
        whiten: [true],
      },
    },
    impl: { prepare },
  });
}
