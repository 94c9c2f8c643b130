// The staged recipe of sparse upcycling (MoE-LLaVA): within the image MoE models' shared budget,
// data order and seed, a dense model with one FFN of an expert's width trains first; its FFN is
// then copied into every expert and only the MoE layer (router and experts) trains on, the stem
// and head frozen. Writes the same checkpoint and card as train_moe.ts, with both stages' steps
// and FLOPs.
import process from "node:process";
import { type Gate, MoeMlp, writeMoeCheckpoint } from "../../bench/families/moe/mod.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import type { Param } from "../../bench/nn/param.ts";
import { mulberry32 } from "../../bench/random.ts";
import {
  accuracyOf,
  checkpointName,
  createModel,
  evaluateMoe,
  imageIds,
  MOE_MODEL,
} from "./moe_model.ts";
import { MNIST_MOE_DATA, MOE_RECIPE, type MoeTrainingSpec } from "./train_moe.ts";

/** How the budget is split and what the second stage trains (the method's declaration). */
export interface UpcyclingStages {
  /** Share of the recipe's steps spent on the dense model, in (0, 1). */
  denseShare: number;
  /** "moe-layer": the router and experts train, every other weight frozen; "all": every weight. */
  moeStageTrains: "moe-layer" | "all";
}

export interface UpcycledTrainingSpec extends MoeTrainingSpec {
  stages: UpcyclingStages;
  /** Called right after the upcycling copy, before the first MoE step (tests). */
  onUpcycle?: (dense: MoeMlp, moe: MoeMlp) => void;
}

/** The dense FFN's routing (as dense-ffn at width 1): every token to the one expert, weight 1. */
function wholeFfnGate(dim: number): Gate {
  return {
    parameters: () => [],
    route: ({ tokens }) => ({
      tokens,
      k: 1,
      experts: new Int32Array(tokens),
      weights: new Float32Array(tokens).fill(1),
      auxLoss: 0,
      probabilities: null,
    }),
    backward: (dWeights) => new Float32Array(dWeights.length * dim),
  };
}

/** The stage-1 model: the MoE model's stem and head around one FFN of an expert's width. */
export function createDenseStageModel(): MoeMlp {
  return new MoeMlp({ ...MOE_MODEL, experts: 1 }, wholeFfnGate(MOE_MODEL.dim));
}

/**
 * Upcycles a trained dense model into `moe`: stem and head copied, the dense FFN copied into every
 * expert; the gate keeps its own (seeded) initialization.
 *
 * @throws {RangeError} when the models' shapes differ (other than the number of experts)
 */
export function upcycleDenseModel(dense: MoeMlp, moe: MoeMlp): void {
  const ffn = dense.layer.experts[0];
  const copy = (from: Param, to: Param) => {
    if (from.size !== to.size) {
      throw new RangeError(
        `Cannot upcycle '${from.name}' into '${to.name}': ${from.size} vs ${to.size} values`,
      );
    }
    to.data.set(from.data);
  };
  const pairs = (a: { parameters(): Param[] }, b: { parameters(): Param[] }) =>
    a.parameters().forEach((p, i) => copy(p, b.parameters()[i]));
  if (dense.layer.experts.length !== 1) {
    throw new RangeError(
      `Cannot upcycle a model of ${dense.layer.experts.length} experts: the dense model has one FFN`,
    );
  }
  pairs(dense.stem, moe.stem);
  pairs(dense.head, moe.head);
  for (const expert of moe.layer.experts) pairs(ffn, expert);
}

/** Forward multiply-adds a model's Linear layers have executed so far, by part. */
function macsOf(model: MoeMlp): { stem: number; layer: number; head: number } {
  const experts = model.layer.experts.flatMap((e) => [e.fc1, e.fc2]);
  return {
    stem: model.stem.macs.executed,
    layer: experts.reduce((n, l) => n + l.macs.executed, 0),
    head: model.head.macs.executed,
  };
}

/**
 * Trains one MoE model by the staged recipe and writes `<name>.safetensors` and `<name>.json` into
 * `spec.out`, as {@link trainMnistMoe} does.
 */
export async function trainUpcycledMoe(
  spec: UpcycledTrainingSpec,
  log: (line: string) => void = console.log,
): Promise<{ name: string; card: Record<string, unknown> }> {
  const { denseShare } = spec.stages;
  if (!(denseShare > 0 && denseShare < 1)) {
    throw new RangeError(
      `Cannot stage the recipe: denseShare must be in (0, 1), got ${denseShare}`,
    );
  }
  const r = { ...MOE_RECIPE, ...spec.recipe };
  const data = spec.data ?? MNIST_MOE_DATA;
  const name = checkpointName(spec.method, spec.experts, spec.params, data.prefix);
  const train = await data.load("train"), test = await data.load("test");
  const trainCount = spec.trainImages ?? train.count - r.validation, d = train.rows * train.cols;
  const stepsPerEpoch = Math.ceil(trainCount / r.batch), total = r.epochs * stepsPerEpoch;
  // Each stage is its own run (MoE-LLaVA's stages II and III): warm-up (the recipe's share of its
  // steps) and cosine decay over its steps, a fresh optimizer.
  const denseSteps = Math.round(total * denseShare), moeSteps = total - denseSteps;
  const schedule = (steps: number) => ({
    maxLr: r.maxLr,
    minLr: r.minLr,
    warmup: Math.max(1, Math.round(r.warmupSteps * steps / total)),
    total: steps,
  });
  const dense = createDenseStageModel();
  dense.init(r.seed);
  const moe = createModel(spec.method, spec.experts, spec.params);
  moe.init(r.seed);
  const frozen = spec.stages.moeStageTrains === "moe-layer";
  const moeTrained = frozen ? moe.layer.parameters() : moe.parameters();
  const routerMacsPerToken = moe.layer.gate.parameters().reduce((n, p) => n + p.size, 0);
  let model = dense,
    opt = new AdamW(dense.parameters(), { lr: r.maxLr, weightDecay: r.weightDecay });
  const rand = mulberry32(r.seed ^ 0x3c3c);
  const order = Int32Array.from({ length: trainCount }, (_, i) => i);
  const x = new Float32Array(r.batch * d), y = new Int32Array(r.batch);
  const start = performance.now(), cpuStart = process.cpuUsage();
  let step = 0, lastLoss = NaN;
  const tokens = [0, 0], minutes = [0, 0];
  const evalMacs = [{ stem: 0, layer: 0, head: 0 }, { stem: 0, layer: 0, head: 0 }];
  const lastStep = Math.min(total, spec.maxSteps ?? total);
  for (let epoch = 0; epoch < r.epochs && step < lastStep; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0, auxSum = 0, seen = 0;
    for (let s = 0; s < trainCount && step < lastStep; s += r.batch) {
      if (step === denseSteps) {
        minutes[0] = (performance.now() - start) / 60000;
        upcycleDenseModel(dense, moe);
        spec.onUpcycle?.(dense, moe);
        model = moe;
        opt = new AdamW(moeTrained, { lr: r.maxLr, weightDecay: r.weightDecay });
        log(
          `${name}: dense stage done after ${step} steps; FFN copied into ${spec.experts} experts`,
        );
      }
      const stage = step < denseSteps ? 0 : 1;
      const n = Math.min(r.batch, trainCount - s);
      for (let k = 0; k < n; k++) {
        const row = order[s + k];
        for (let j = 0; j < d; j++) x[k * d + j] = train.images[row * d + j] / 255;
        y[k] = train.labels[row];
      }
      const stageStep = stage === 0 ? step : step - denseSteps;
      if (stage === 1) model.layer.gate.progress?.(stageStep / moeSteps);
      opt.lr = cosineLr(stageStep, schedule(stage === 0 ? denseSteps : moeSteps));
      step++;
      opt.zeroGrad();
      const xs = x.subarray(0, n * d);
      const { logits, auxLoss } = model.forward(xs, n, imageIds(xs, n, d), "train");
      const { loss, dlogits } = softmaxCrossEntropy(logits, y.subarray(0, n));
      if (stage === 0 || !frozen) model.backward(dlogits);
      // Frozen stem: the gradient stops at the MoE layer's input.
      else model.layer.backward(model.head.backward(dlogits));
      opt.step();
      lossSum += loss * n;
      auxSum += auxLoss * n;
      seen += n;
      tokens[stage] += n;
      lastLoss = loss;
    }
    const stage = model === dense ? 0 : 1;
    const before = macsOf(model);
    const val = accuracyOf(
      evaluateMoe(model, train, { start: train.count - r.validation, count: r.validation }),
    );
    const after = macsOf(model);
    for (const part of ["stem", "layer", "head"] as const) {
      evalMacs[stage][part] += after[part] - before[part];
    }
    log(
      `${name} epoch ${epoch + 1}/${r.epochs} (${stage === 0 ? "dense" : "moe"} stage) loss ${
        (lossSum / seen).toFixed(4)
      } aux ${(auxSum / seen).toFixed(4)} validation accuracy ${(100 * val).toFixed(2)}% ${
        ((performance.now() - start) / 60000).toFixed(2)
      } min`,
    );
  }
  if (model !== moe) {
    throw new RangeError(
      `Cannot finish ${name}: training stopped after ${step} steps, inside the dense stage (${denseSteps} steps)`,
    );
  }
  moe.layer.gate.progress?.(1);
  const trainMinutes = (performance.now() - start) / 60000;
  minutes[1] = trainMinutes - minutes[0];
  const cpu = process.cpuUsage(cpuStart);
  // Training FLOPs as executed: 2 per forward multiply-add, 4 more for a layer whose backward
  // computes both products. The dense stage backpropagates everything (×6); the MoE stage runs the
  // frozen stem forward only (×2), the head's backward both products (×6, its weight gradient
  // unused) and the MoE layer's (×6, router included).
  const trained = (model: MoeMlp, stage: number) => {
    const m = macsOf(model), e = evalMacs[stage];
    return { stem: m.stem - e.stem, layer: m.layer - e.layer, head: m.head - e.head };
  };
  const m0 = trained(dense, 0), m1 = trained(moe, 1);
  const denseFlops = 6 * (m0.stem + m0.layer + m0.head);
  const moeFlops = (frozen ? 2 : 6) * m1.stem + 6 * (m1.layer + m1.head) +
    6 * routerMacsPerToken * tokens[1];
  const evaluation = evaluateMoe(moe, test, { start: 0, count: test.count, batch: r.evalBatch });
  const metrics = {
    testAccuracy: accuracyOf(evaluation),
    validationAccuracy: accuracyOf(
      evaluateMoe(moe, train, { start: train.count - r.validation, count: r.validation }),
    ),
    lastTrainLoss: lastLoss,
    ...evaluation.tally.figures(),
  };
  log(`${name}: ${JSON.stringify(metrics)}`);
  const params = moe.parameters();
  const file = await writeMoeCheckpoint(spec.out, name, spec.method.meta.id, params);
  const card = {
    name,
    ...file,
    experts: spec.experts,
    model: { ...moe.shape, base: MOE_MODEL },
    gate: { method: spec.method.meta.id, version: spec.method.meta.version, params: spec.params },
    recipe: {
      ...r,
      script: "datasets/mnist_moe/train_upcycled_moe.ts",
      gemmBackend: gemmBackend(),
      stages: {
        denseShare,
        moeStageTrains: spec.stages.moeStageTrains,
        schedule: "each stage its own warm-up (the recipe's share) and cosine decay, a fresh AdamW",
      },
    },
    data: {
      id: data.id,
      source: data.source,
      trainSha256: train.sha256,
      testSha256: test.sha256,
    },
    metrics,
    steps: step,
    trainTokens: tokens[0] + tokens[1],
    trainFlops: denseFlops + moeFlops,
    stages: [
      {
        stage: "dense",
        model: { ...dense.shape },
        trains: "every weight",
        steps: denseSteps,
        trainTokens: tokens[0],
        trainFlops: denseFlops,
        trainMinutes: minutes[0],
      },
      {
        stage: "moe",
        init: "every expert a copy of the dense FFN; stem and head copied; router seeded",
        trains: frozen ? "router and experts (stem and head frozen)" : "every weight",
        steps: step - denseSteps,
        trainTokens: tokens[1],
        trainFlops: moeFlops,
        trainMinutes: minutes[1],
      },
    ],
    trainMinutes,
    trainCpuMinutes: (cpu.user + cpu.system) / 6e7,
    machine: { cores: navigator.hardwareConcurrency, deno: Deno.version.deno },
    trainedAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(new URL(`${name}.json`, spec.out), JSON.stringify(card, null, 2) + "\n");
  log(`wrote ${new URL(`${name}.safetensors`, spec.out).pathname} (${file.checkpointBytes} bytes)`);
  return { name, card };
}
