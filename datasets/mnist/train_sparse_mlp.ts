// The sparse-training loop of the image MLPs: one budget (steps, data order, seed, AdamW with its
// schedule: the reference recipe's, for fewer epochs) shared by every sparse-training method and
// by the dense model trained with it; the method's trainer acts around each step. Writes a sparse
// checkpoint (kept values and mask bits) and a card with the training cost.
import os from "node:os";
import process from "node:process";
import {
  distillationLoss,
  encodeSparseCheckpoint,
  type SparseTraining,
  type StepFlops,
  type TrainedCard,
  trainingStepFlops,
} from "../../bench/families/pruning/mod.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import { mulberry32, sha256Hex } from "../../bench/random.ts";
import type { ImageSet } from "./idx.ts";
import { MLP_RECIPE, mlpAccuracy, shifted } from "./train_mlp.ts";
import { loadTrainedMlp } from "./trained_mlp.ts";

/**
 * The shared sparse-training budget: the reference recipe (datasets/mnist/train_mlp.ts: batch
 * 128, AdamW 2e-3 → 1e-5 cosine after 200 warm-up steps, weight decay 0.01, ±2-pixel shifts,
 * seed 20240) for 6 epochs instead of 24 (2,580 steps), since every method and its dense
 * baseline train on two shared CPU cores.
 */
export const SPARSE_BUDGET = { ...MLP_RECIPE, epochs: 6 };

/** The layer sizes of an image MLP at a width multiplier: hidden 300·w and 100·w. */
export function mlpSizesAtWidth(width: number): number[] {
  return [784, 300 * width, 100 * width, 10];
}

/** One sparse-training run. */
export interface SparseMlpTrainingSpec {
  /** The checkpoint's name, e.g. "mnist-mlp-rigl-erk-s90-w1". */
  name: string;
  /** The method's id and version, for the card. */
  method: { id: string; version: string };
  training: SparseTraining;
  params: ParamValues;
  dataset: { id: string; source: string };
  load: (split: "train" | "test") => Promise<ImageSet>;
  out: URL;
  /** Stop after this many steps (tests); the budget runs them all. */
  maxSteps?: number;
  /** Train on the first this many images (tests); all but the validation ones by default. */
  trainImages?: number;
  /** Changes to {@link SPARSE_BUDGET} (tests), recorded in the card. */
  recipe?: Partial<typeof SPARSE_BUDGET>;
  /**
   * Where a distilling method's teacher is committed: `<prefix>-<teacher recipe>` in `dir` (the
   * dataset's committed models, whatever folder this run writes into).
   */
  teacherModels?: { dir: URL; prefix: string };
}

/** The dense teacher a method distills from, or null when it names none. */
async function loadTeacher(spec: SparseMlpTrainingSpec) {
  const recipe = spec.training.teacher?.(spec.params) ?? null;
  if (recipe === null) return null;
  if (!spec.teacherModels) {
    throw new Error(
      `Cannot train ${spec.name} as it distills from '${recipe}' but the run names no teacher folder (teacherModels)`,
    );
  }
  const name = `${spec.teacherModels.prefix}-${recipe}`;
  const { model, card } = await loadTrainedMlp(spec.teacherModels.dir, name);
  return { model, name, sha256: card.checkpointSha256 };
}

/** Share of each layer's weights its mask keeps. */
function densities(model: Mlp): Record<string, number> {
  return Object.fromEntries(model.layers.map((l) => [l.weight.name, l.weight.density()]));
}

/**
 * Trains one MLP with a sparse-training method and writes `<name>.safetensors` and `<name>.json`
 * into `spec.out`.
 *
 * @returns the card written
 */
export async function trainSparseMlp(
  spec: SparseMlpTrainingSpec,
  log: (line: string) => void = console.log,
): Promise<TrainedCard & Record<string, unknown>> {
  const r = { ...SPARSE_BUDGET, ...spec.recipe };
  const train = await spec.load("train"), test = await spec.load("test");
  const sizes = mlpSizesAtWidth(spec.training.width(spec.params));
  const model = new Mlp(sizes);
  model.init(r.seed);
  const teacher = await loadTeacher(spec);
  const teacherWeights = teacher?.model.layers.reduce((n, l) => n + l.weight.size, 0) ?? 0;
  const params = model.parameters();
  const opt = new AdamW(params, { lr: r.maxLr, weightDecay: r.weightDecay });
  const moments = opt.exportState();
  // Same data order as the dense baseline: this stream serves only shuffles and shifts.
  const rand = mulberry32(r.seed ^ 0x3c3c);
  const trainCount = spec.trainImages ?? train.count - r.validation, d = train.rows * train.cols;
  const order = Int32Array.from({ length: trainCount }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(trainCount / r.batch), total = r.epochs * stepsPerEpoch;
  const schedule = { maxLr: r.maxLr, minLr: r.minLr, warmup: r.warmupSteps, total };
  const trainer = spec.training.start({
    layers: model.layers,
    totalSteps: total,
    stepsPerEpoch,
    resetOptimizerState(param, indices) {
      const k = params.indexOf(param);
      for (const i of indices) moments.m[k][i] = moments.v[k][i] = 0;
    },
    learningRate: (s) => cosineLr(s, schedule),
    ...(teacher ? { teacher: teacher.model.layers } : {}),
  }, spec.params);
  const x = new Float32Array(r.batch * d), y = new Int32Array(r.batch);
  const start = performance.now(), cpuStart = process.cpuUsage();
  const flops: StepFlops = { forward: 0, backwardInput: 0, backwardWeight: 0 };
  let step = 0, examples = 0, teacherForward = 0;
  const lastStep = Math.min(total, spec.maxSteps ?? total);
  for (let epoch = 0; epoch < r.epochs && step < lastStep; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0, seen = 0;
    for (let s = 0; s < trainCount && step < lastStep; s += r.batch) {
      const n = Math.min(r.batch, trainCount - s);
      for (let k = 0; k < n; k++) {
        const dx = Math.floor(rand() * (2 * r.shift + 1)) - r.shift;
        const dy = Math.floor(rand() * (2 * r.shift + 1)) - r.shift;
        shifted(train, order[s + k], { dx, dy, out: x, offset: k * d });
        y[k] = train.labels[order[s + k]];
      }
      trainer.beforeForward?.(step);
      const denseWeightGradient = trainer.denseWeightGradient(step);
      const f = trainingStepFlops(model.layers, n, denseWeightGradient);
      opt.lr = cosineLr(step, schedule);
      opt.zeroGrad();
      const xs = n === r.batch ? x : x.subarray(0, n * d);
      const logits = model.forward(xs, n), labels = y.subarray(0, n);
      const kd = teacher ? trainer.distillation?.(step) ?? null : null;
      let loss: number, dlogits: Float32Array;
      if (teacher && kd) {
        ({ loss, dlogits } = distillationLoss(logits, teacher.model.forward(xs, n), labels, kd));
        teacherForward += 2 * n * teacherWeights;
      } else ({ loss, dlogits } = softmaxCrossEntropy(logits, labels));
      if (trainer.beforeBackward) {
        // ∂x runs with the masks set now: count it with them.
        trainer.beforeBackward(step);
        f.backwardInput = trainingStepFlops(model.layers, n, denseWeightGradient).backwardInput;
      }
      flops.forward += f.forward;
      flops.backwardInput += f.backwardInput;
      flops.backwardWeight += f.backwardWeight;
      model.backward(dlogits);
      trainer.afterBackward?.(step);
      opt.step();
      step++;
      examples += n;
      lossSum += loss * n;
      seen += n;
    }
    const val = mlpAccuracy(model, train, train.count - r.validation, r.validation);
    log(
      `${spec.name} epoch ${epoch + 1}/${r.epochs} loss ${(lossSum / seen).toFixed(4)} ` +
        `validation accuracy ${(100 * val).toFixed(2)}% ${
          ((performance.now() - start) / 60000).toFixed(2)
        } min`,
    );
  }
  trainer.finish?.();
  const statistics = trainer.statisticsFlops?.();
  for (const p of params) if (p.mask) p.setMask(p.mask, "hard");
  const wallMinutes = (performance.now() - start) / 60000;
  const cpu = process.cpuUsage(cpuStart);
  const denseFlops = 6 * examples * model.layers.reduce((n, l) => n + l.weight.size, 0);
  const metrics = {
    testAccuracy: mlpAccuracy(model, test),
    validationAccuracy: mlpAccuracy(model, train, train.count - r.validation, r.validation),
  };
  log(`${spec.name}: ${JSON.stringify(metrics)}`);
  const bytes = encodeSparseCheckpoint(params, { model: spec.name, sizes: sizes.join(",") });
  await Deno.mkdir(spec.out, { recursive: true });
  await Deno.writeFile(new URL(`${spec.name}.safetensors`, spec.out), bytes);
  const card = {
    name: spec.name,
    checkpoint: `${spec.name}.safetensors`,
    checkpointSha256: await sha256Hex(bytes),
    checkpointBytes: bytes.length,
    sizes,
    method: { ...spec.method, params: spec.params },
    recipe: {
      ...r,
      sizes,
      script: "datasets/mnist/train_sparse_mlp.ts",
      gemmBackend: gemmBackend(),
      trainImages: trainCount,
    },
    data: { ...spec.dataset, trainSha256: train.sha256, testSha256: test.sha256 },
    metrics,
    density: densities(model),
    trainer: trainer.figures?.() ?? {},
    ...(teacher ? { teacher: { name: teacher.name, checkpointSha256: teacher.sha256 } } : {}),
    training: {
      steps: step,
      examples,
      flops: {
        ...flops,
        ...(teacher ? { teacherForward } : {}),
        ...(statistics !== undefined ? { statistics } : {}),
        total: flops.forward + flops.backwardInput + flops.backwardWeight + teacherForward +
          (statistics ?? 0),
      },
      denseFlops,
      wallMinutes,
      cpuMinutes: (cpu.user + cpu.system) / 6e7,
      loadAverage: os.loadavg()[0],
    },
    machine: { cores: navigator.hardwareConcurrency, deno: Deno.version.deno },
    trainedAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(
    new URL(`${spec.name}.json`, spec.out),
    JSON.stringify(card, null, 2) + "\n",
  );
  log(`wrote ${new URL(`${spec.name}.safetensors`, spec.out).pathname} (${bytes.length} bytes)`);
  return card;
}
