// Image-classification pruning tasks (`mnist-mlp-accuracy`, `fmnist-mlp-accuracy`): a pruning
// method prunes the committed reference MLP with calibration images from the training set; the
// task scores test accuracy on the CPU engine and times batch-1 or batch-256 forward passes on
// WebGPU (on the CPU engine, in wall time, where the machine has no adapter).
import { TimedSubmit } from "../../bench/gpu/timed_submit.ts";
import { defineTask, type Method, type ParamValues, type Task } from "../../bench/metadata.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import type { Mlp } from "../../bench/nn/mlp.ts";
import type { PreparedCase, TaskContext, TaskImpl, Trial } from "../../bench/plugin.ts";
import {
  type Calibration,
  type PrunableModel,
  type PruningMethod,
  realizedDensity,
  targetDensity,
} from "../../methods/pruning/interface.ts";
import { imagesAsFloat, type ImageSet } from "./idx.ts";
import { loadReferenceMlp } from "./reference_mlp.ts";
import { mlpAccuracy } from "./train_mlp.ts";
import { createGpuMlp } from "./mlp_gpu.ts";
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

/** Training images used for calibration: the first ones, as a fixed slice. */
export const CALIBRATION_IMAGES = 1024;
const CALIBRATION_BATCH = 256;

/** |GPU − CPU| allowed per logit: absolute plus relative, for float32 sums in another order. */
const ABS_TOL = 1e-3, REL_TOL = 1e-4;

function calibrationOf(model: Mlp, train: ImageSet): Calibration {
  const x = imagesAsFloat(train, 0, CALIBRATION_IMAGES);
  const y = Int32Array.from(train.labels.subarray(0, CALIBRATION_IMAGES));
  const d = train.rows * train.cols;
  const batches = (fn: (xb: Float32Array, yb: Int32Array, n: number) => void) => {
    for (let s = 0; s < CALIBRATION_IMAGES; s += CALIBRATION_BATCH) {
      const n = Math.min(CALIBRATION_BATCH, CALIBRATION_IMAGES - s);
      fn(x.subarray(s * d, (s + n) * d), y.subarray(s, s + n), n);
    }
  };
  return {
    rows: CALIBRATION_IMAGES,
    run: () => batches((xb, _yb, n) => void model.forward(xb, n)),
    gradients: () => {
      for (const p of model.parameters()) p.grad.fill(0);
      batches((xb, yb, n) => model.backward(softmaxCrossEntropy(model.forward(xb, n), yb).dlogits));
    },
  };
}

export interface ImageTaskSpec {
  id: string;
  title: string;
  modelName: string;
  modelDir: URL;
  dataset: Task["meta"]["dataset"];
  load: (split: "train" | "test") => Promise<ImageSet>;
  description: string;
}

/** Declares an image-MLP accuracy task over one dataset and its reference model. */
export function defineImageMlpTask(spec: ImageTaskSpec): Task<TaskImpl> {
  async function prepare(caseParams: ParamValues, ctx: TaskContext): Promise<PreparedCase> {
    const batch = caseParams.batch as number, count = caseParams.testImages as number;
    const [train, test] = [await spec.load("train"), await spec.load("test")];
    if (count > test.count) {
      throw new RangeError(`testImages ${count} > the ${test.count} test images`);
    }
    const input = imagesAsFloat(test, 0, batch);

    /** A fresh copy of the reference model, pruned by `method`. */
    const pruned = async (method: Method, params: ParamValues) => {
      const { model } = await loadReferenceMlp(spec.modelDir, spec.modelName);
      const impl = method.impl as PruningMethod;
      const target = impl.target(params);
      const prunable: PrunableModel = {
        id: spec.modelName,
        linears: () => model.linears(),
        parameters: () => model.parameters(),
      };
      const report = await impl.prune(prunable, calibrationOf(model, train), target, params);
      for (const p of model.parameters()) p.grad.fill(0);
      return { model, target, report, density: realizedDensity(prunable) };
    };
    const quality = async (model: Mlp, density: number, pruneMs: number) => ({
      accuracy: mlpAccuracy(model, test, 0, count),
      // The same pruned model exported to ONNX and run by onnxruntime-web (wasm): a second engine.
      accuracy_onnxruntime: await ortAccuracy(model, test, count),
      density,
      prune_ms: pruneMs,
    });

    return {
      datasetSha256: test.sha256,
      async referenceMetrics(method, params) {
        const p = await pruned(method, params);
        return quality(p.model, p.density, p.report.pruneMs);
      },
      async bind(method, params): Promise<Trial> {
        const p = await pruned(method, params);
        const cpuLogits = p.model.forward(input, batch);
        const sparsity = {
          nominalDensity: targetDensity(p.target),
          realizedDensity: p.density,
          // The dense kernel multiplies every weight, zeros included.
          flopsRatio: 1,
        };
        const metricsOf = () => quality(p.model, p.density, p.report.pruneMs);
        const gpu = ctx.gpu;
        if (!gpu) {
          // No adapter: time the CPU engine's forward pass (wall time) instead.
          return {
            setup: { compileMs: null, uploadMs: null },
            sample() {
              const start = performance.now();
              p.model.forward(input, batch);
              return Promise.resolve({
                wallMs: performance.now() - start,
                kernelMs: null,
                reps: 1,
              });
            },
            finish: async () => ({
              check: {
                passed: true,
                description:
                  "no WebGPU adapter: latency is the CPU engine's forward pass, which is the reference itself",
                maxAbsError: 0,
                tolerance: "exact (same code)",
              },
              metrics: await metricsOf(),
              sparsity,
              flops: null,
              dumps: [],
            }),
            dispose() {},
          };
        }
        const net = await createGpuMlp(gpu, p.model, input, batch);
        const timer = new TimedSubmit(gpu, (encoder) => net.encode(encoder));
        return {
          setup: { compileMs: net.compileMs, uploadMs: net.uploadMs },
          sample: () => timer.sample(),
          async finish() {
            const logits = await net.readLogits();
            let maxAbs = 0, within = true;
            for (let i = 0; i < cpuLogits.length; i++) {
              const err = Math.abs(logits[i] - cpuLogits[i]);
              maxAbs = Math.max(maxAbs, err);
              if (!(err <= ABS_TOL + REL_TOL * Math.abs(cpuLogits[i]))) within = false;
            }
            const classes = cpuLogits.length / batch;
            return {
              check: {
                passed: within,
                description: within
                  ? `GPU logits of ${batch} test image(s) equal the CPU engine's`
                  : `GPU logits differ from the CPU engine's (max |err| ${
                    maxAbs.toExponential(2)
                  })`,
                maxAbsError: maxAbs,
                tolerance: `|err| ≤ ${ABS_TOL} + ${REL_TOL}·|logit|`,
              },
              metrics: await metricsOf(),
              sparsity,
              flops: net.flops,
              dumps: ctx.dump
                ? [
                  { name: "input", shape: [batch, input.length / batch], data: input },
                  { name: "logits_gpu", shape: [batch, classes], data: logits },
                  { name: "logits_cpu_reference", shape: [batch, classes], data: cpuLogits },
                ]
                : [],
            };
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

  return defineTask<TaskImpl>({
    id: spec.id,
    family: "pruning",
    title: spec.title,
    description: spec.description,
    version: "1.0.0",
    mainMetric: "accuracy",
    metrics: [
      {
        name: "accuracy",
        description: "top-1 accuracy on the first `testImages` test images",
        higherIsBetter: true,
      },
      {
        name: "density",
        description: "share of the Linear weights the masks keep",
        higherIsBetter: false,
      },
      {
        name: "prune_ms",
        description: "wall time of the pruning method itself",
        higherIsBetter: false,
        unit: "ms",
      },
      {
        name: "achieved_gflops",
        description: "forward FLOPs (dense count) / p50 latency",
        higherIsBetter: true,
        unit: "GFLOP/s",
      },
    ],
    referenceMethod: "dense-unpruned",
    dataset: spec.dataset,
    parameters: {
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
    },
    profiles: {
      smoke: { batch: [256], testImages: [2000] },
      quick: { batch: [1, 256], testImages: [10000] },
      full: { batch: [1, 256], testImages: [10000] },
    },
    requiresFeatures: ["mlp"],
    impl: { prepare },
  });
}
