// The recipe of the image MLPs (`mnist-mlp`, `fmnist-mlp`): 784-300-100-10, AdamW with a cosine
// schedule, seeded shuffles and ±2-pixel shifts; the last 5,000 training images are held out.
import process from "node:process";
import { encodeCheckpoint } from "../../bench/nn/checkpoint.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { argmaxRows, Mlp } from "../../bench/nn/mlp.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import { mulberry32, sha256Hex } from "../../bench/random.ts";
import { imagesAsFloat, type ImageSet } from "./idx.ts";

export const MLP_RECIPE = {
  sizes: [784, 300, 100, 10],
  seed: 20240,
  epochs: 24,
  batch: 128,
  maxLr: 2e-3,
  minLr: 1e-5,
  warmupSteps: 200,
  weightDecay: 0.01,
  /** Random shifts of up to this many pixels in x and y (zero-filled). */
  shift: 2,
  validation: 5000,
};

export interface MlpTrainingSpec {
  name: string;
  dataset: { id: string; source: string };
  load: (split: "train" | "test") => Promise<ImageSet>;
  out: URL;
  /** Stop after this many steps (tests of determinism); the recipe runs them all. */
  maxSteps?: number;
  /** Changes to {@link MLP_RECIPE} for this dataset (recorded in the card). */
  recipe?: Partial<typeof MLP_RECIPE>;
}

/** Accuracy of `model` on images [start, start + count) of `set`. */
export function mlpAccuracy(
  model: Mlp,
  set: ImageSet,
  start = 0,
  count = set.count - start,
): number {
  let correct = 0;
  for (const c of mlpCorrect(model, set, { start, count })) correct += c;
  return correct / count;
}

/**
 * Whether `model` classifies each of images [start, start + count) of `set` right (1) or not
 * (0): the per-example outcomes an accuracy and its bootstrap interval are computed from.
 */
export function mlpCorrect(
  model: Mlp,
  set: ImageSet,
  range: { start: number; count: number },
): Uint8Array {
  const { start, count } = range;
  const correct = new Uint8Array(count);
  for (let s = start; s < start + count; s += 1000) {
    const n = Math.min(1000, start + count - s);
    const pred = argmaxRows(model.forward(imagesAsFloat(set, s, n), n), n);
    for (let i = 0; i < n; i++) if (pred[i] === set.labels[s + i]) correct[s - start + i] = 1;
  }
  return correct;
}

/** Where {@link shifted} writes an image, and by how much it moves it. */
export interface ShiftedCopy {
  dx: number;
  dy: number;
  out: Float32Array;
  offset: number;
}

/**
 * Copies image `index` shifted by (dx, dy) into `out` at `offset`, zero-filled, as floats in
 * [0, 1] (the reference recipe's augmentation; the sparse-training loop uses it too).
 */
export function shifted(set: ImageSet, index: number, copy: ShiftedCopy): void {
  const { dx, dy, out, offset } = copy;
  const w = set.cols, h = set.rows, base = index * w * h;
  for (let y = 0; y < h; y++) {
    const sy = y - dy;
    for (let x = 0; x < w; x++) {
      const sx = x - dx;
      out[offset + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w
        ? set.images[base + sy * w + sx] / 255
        : 0;
    }
  }
}

/** Trains one MLP and writes `<name>.safetensors` and `<name>.json` into `spec.out`. */
export async function trainImageMlp(
  spec: MlpTrainingSpec,
  log: (line: string) => void = console.log,
): Promise<void> {
  const r = { ...MLP_RECIPE, ...spec.recipe };
  const train = await spec.load("train"), test = await spec.load("test");
  const model = new Mlp(r.sizes);
  model.init(r.seed);
  const params = model.parameters();
  const opt = new AdamW(params, { lr: r.maxLr, weightDecay: r.weightDecay });
  const rand = mulberry32(r.seed ^ 0x3c3c);
  const trainCount = train.count - r.validation, d = train.rows * train.cols;
  const order = Int32Array.from({ length: trainCount }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(trainCount / r.batch), total = r.epochs * stepsPerEpoch;
  const x = new Float32Array(r.batch * d), y = new Int32Array(r.batch);
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let step = 0;
  const lastStep = Math.min(total, spec.maxSteps ?? total);
  for (let epoch = 0; epoch < r.epochs && step < lastStep; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0;
    for (let s = 0; s < trainCount && step < lastStep; s += r.batch) {
      const n = Math.min(r.batch, trainCount - s);
      for (let k = 0; k < n; k++) {
        const dx = Math.floor(rand() * (2 * r.shift + 1)) - r.shift;
        const dy = Math.floor(rand() * (2 * r.shift + 1)) - r.shift;
        shifted(train, order[s + k], { dx, dy, out: x, offset: k * d });
        y[k] = train.labels[order[s + k]];
      }
      opt.lr = cosineLr(step++, { maxLr: r.maxLr, minLr: r.minLr, warmup: r.warmupSteps, total });
      opt.zeroGrad();
      const xs = n === r.batch ? x : x.subarray(0, n * d);
      const { loss, dlogits } = softmaxCrossEntropy(model.forward(xs, n), y.subarray(0, n));
      model.backward(dlogits);
      opt.step();
      lossSum += loss * n;
    }
    const val = mlpAccuracy(model, train, trainCount, r.validation);
    log(
      `${spec.name} epoch ${epoch + 1}/${r.epochs} loss ${(lossSum / trainCount).toFixed(4)} ` +
        `validation accuracy ${(100 * val).toFixed(2)}% ${
          ((performance.now() - start) / 60000).toFixed(2)
        } min`,
    );
  }
  const trainMinutes = (performance.now() - start) / 60000;
  // CPU time of this process: on a shared machine, wall time says more about the neighbours.
  const cpu = process.cpuUsage(cpuStart);
  const trainCpuMinutes = (cpu.user + cpu.system) / 6e7;
  const metrics = {
    testAccuracy: mlpAccuracy(model, test),
    validationAccuracy: mlpAccuracy(model, train, trainCount, r.validation),
    // (skipped in short test runs: it is the slowest figure)
    trainAccuracy: spec.maxSteps === undefined ? mlpAccuracy(model, train, 0, trainCount) : null,
  };
  log(`${spec.name}: ${JSON.stringify(metrics)}`);
  const bytes = encodeCheckpoint(params, {
    model: spec.name,
    format: "sparsebench-mlp-v1",
    sizes: r.sizes.join(","),
  });
  await Deno.mkdir(spec.out, { recursive: true });
  await Deno.writeFile(new URL(`${spec.name}.safetensors`, spec.out), bytes);
  const card = {
    name: spec.name,
    checkpoint: `${spec.name}.safetensors`,
    checkpointSha256: await sha256Hex(bytes),
    checkpointBytes: bytes.length,
    parameters: params.reduce((n, p) => n + p.size, 0),
    recipe: { ...r, script: "datasets/mnist/train_mlp.ts", gemmBackend: gemmBackend() },
    data: { ...spec.dataset, trainSha256: train.sha256, testSha256: test.sha256 },
    metrics,
    trainMinutes,
    trainCpuMinutes,
    machine: { cores: navigator.hardwareConcurrency, deno: Deno.version.deno },
    trainedAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(
    new URL(`${spec.name}.json`, spec.out),
    JSON.stringify(card, null, 2) + "\n",
  );
  log(`wrote ${new URL(`${spec.name}.safetensors`, spec.out).pathname} (${bytes.length} bytes)`);
}
