// The adapter-transfer recipe: the frozen MNIST MLP adapted to Fashion-MNIST by one method (a
// linear probe, a dense adapter, MoSA, full fine-tuning), every method at one budget — the same
// steps, data order, initial adapter and head, AdamW and schedule — with the training FLOPs each
// spent counted from the products its steps actually needed.
import os from "node:os";
import process from "node:process";
import type { AdapterMethod, AdapterNet, AdapterScope } from "../../bench/families/moe/mod.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import { mulberry32, sha256Hex } from "../../bench/random.ts";
import { imagesAsFloat, type ImageSet } from "../mnist/idx.ts";
import {
  ADAPTER_MODELS,
  adapterCorrect,
  BACKBONE,
  backboneNet,
  encodeAdapterCheckpoint,
  loadAdapterModel,
  shareCorrect,
} from "./adapter_model.ts";

/** The shared budget. The last 5,000 training images are held out for validation. */
export const ADAPTER_RECIPE = {
  seed: 20251,
  epochs: 10,
  batch: 128,
  maxLr: 2e-3,
  minLr: 1e-5,
  warmupSteps: 200,
  weightDecay: 0.01,
  validation: 5000,
};

export interface AdapterTrainingSpec {
  name: string;
  method: { id: string; version: string; params: Record<string, unknown> };
  impl: AdapterMethod;
  implParams: Record<string, number | string | boolean>;
  load: (split: "train" | "test") => Promise<ImageSet>;
  dataset: { id: string; source: string };
  out?: URL;
  /** Stop after this many steps (tests); the recipe runs them all. */
  maxSteps?: number;
  /** Another recipe seed (init, data order and the method's own draws), for seed-spread studies. */
  seed?: number;
}

/** Multiply-adds ×2 of one step's products, by kind (what the step needed, not all the engine ran). */
export interface StepFlops {
  forward: number;
  backwardInput: number;
  backwardWeight: number;
}

/**
 * The FLOPs of one training step of `rows` examples: every matrix product the step needs for the
 * scope's gradients. Frozen layers need no ∂W; nothing below the lowest trained tensor needs ∂x;
 * an adapter projection counts only the entries its step activated (`active`, per projection in
 * adapter order, down then up). The first layer's output is computed once for scopes that freeze
 * it (see {@link featureFlops}); `updated` are the entries each projection's ∂W needs (default:
 * `active`). Biases, activations, the loss and the optimizer are O(parameters)
 * per step and left out for every method.
 */
export function stepFlops(
  net: AdapterNet,
  scope: AdapterScope,
  rows: number,
  active: readonly number[],
  updated: readonly number[] = active,
): StepFlops {
  const f = { forward: 0, backwardInput: 0, backwardWeight: 0 };
  const [fc1, fc2] = net.backbone, head = net.head.weight.size;
  const two = 2 * rows;
  if (scope === "all") {
    f.forward += two * fc1.weight.size;
    f.backwardWeight += two * fc1.weight.size;
  }
  f.forward += two * fc2.weight.size;
  if (scope === "all") f.backwardWeight += two * fc2.weight.size;
  if (scope !== "head") f.backwardInput += two * fc2.weight.size;
  active.forEach((entries, p) => {
    f.forward += two * entries;
    f.backwardWeight += two * updated[p];
    // adapter 1's down projection reads the frozen features: nothing below it trains
    if (p > 0) f.backwardInput += two * entries;
  });
  f.forward += two * head;
  f.backwardWeight += two * head;
  if (scope !== "head") f.backwardInput += two * head;
  return f;
}

/** The FLOPs of computing the frozen first layer's output once for `examples` images. */
export function featureFlops(net: AdapterNet, examples: number): number {
  return 2 * examples * net.backbone[0].weight.size;
}

/** Trains one method's recipe and writes `<name>.safetensors` and `<name>.json` into `out`. */
export async function trainAdapter(
  spec: AdapterTrainingSpec,
  log: (line: string) => void = console.log,
): Promise<Record<string, unknown>> {
  const r = { ...ADAPTER_RECIPE, seed: spec.seed ?? ADAPTER_RECIPE.seed };
  const scope = spec.impl.scope, out = spec.out ?? ADAPTER_MODELS;
  const train = await spec.load("train"), test = await spec.load("test");
  const bottleneck = spec.impl.bottleneck(spec.implParams);
  const { net, backboneSha256 } = await backboneNet(bottleneck);
  net.init(r.seed);
  const trainer = scope === "adapter"
    ? spec.impl.start!(
      { adapters: net.adapters, seed: r.seed, weightDecay: r.weightDecay },
      spec.implParams,
    )
    : null;
  const loopParams = scope === "all"
    ? [...net.backboneParameters(), ...net.head.parameters()]
    : net.head.parameters();
  const opt = new AdamW(loopParams, { lr: r.maxLr, weightDecay: r.weightDecay });
  const adapterParams = net.adapterParameters();
  const trainCount = train.count - r.validation, d = train.rows * train.cols;
  const loadStart = os.loadavg();
  const start = performance.now(), cpuStart = process.cpuUsage();
  // Frozen first layer: its output for every training image, computed once.
  const h1Width = net.backbone[0].outFeatures;
  const features = scope === "all" ? null : new Float32Array(trainCount * h1Width);
  if (features) {
    for (let s = 0; s < trainCount; s += 1000) {
      const n = Math.min(1000, trainCount - s);
      features.set(net.features(imagesAsFloat(train, s, n), n), s * h1Width);
    }
  }
  // The data order: its own seeded stream, the same for every method.
  const rand = mulberry32(r.seed ^ 0x3c3c);
  const order = Int32Array.from({ length: trainCount }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(trainCount / r.batch), total = r.epochs * stepsPerEpoch;
  const lastStep = Math.min(total, spec.maxSteps ?? total);
  const width = scope === "all" ? d : h1Width;
  const x = new Float32Array(r.batch * width), y = new Int32Array(r.batch);
  const flops = { forward: 0, backwardInput: 0, backwardWeight: 0 };
  const denseAdapterWeights = net.adapters.flatMap((a) => [a.down[0].size, a.up[0].size]);
  let denseFlops = 0, examples = 0, step = 0;
  for (let epoch = 0; epoch < r.epochs && step < lastStep; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0, seen = 0;
    for (let s = 0; s < trainCount && step < lastStep; s += r.batch) {
      const n = Math.min(r.batch, trainCount - s);
      for (let k = 0; k < n; k++) {
        const e = order[s + k];
        if (features) x.set(features.subarray(e * width, (e + 1) * width), k * width);
        else for (let p = 0; p < d; p++) x[k * d + p] = train.images[e * d + p] / 255;
        y[k] = train.labels[e];
      }
      const lr = cosineLr(step, { maxLr: r.maxLr, minLr: r.minLr, warmup: r.warmupSteps, total });
      opt.lr = lr;
      opt.zeroGrad();
      for (const p of adapterParams) p.grad.fill(0);
      trainer?.beforeStep(step);
      const xs = x.subarray(0, n * width);
      const logits = features ? net.fromFeatures(xs, n) : net.forward(xs, n);
      const { loss, dlogits } = softmaxCrossEntropy(logits, y.subarray(0, n));
      net.backward(dlogits, scope);
      opt.step();
      trainer?.update(lr);
      const used = trainer?.activeWeights() ?? [];
      const f = stepFlops(net, scope, n, used, trainer?.updatedWeights?.() ?? used);
      flops.forward += f.forward;
      flops.backwardInput += f.backwardInput;
      flops.backwardWeight += f.backwardWeight;
      const dense = stepFlops(net, scope, n, denseAdapterWeights);
      denseFlops += dense.forward + dense.backwardInput + dense.backwardWeight;
      lossSum += loss * n;
      seen += n;
      examples += n;
      step++;
    }
    log(
      `${spec.name} epoch ${epoch + 1}/${r.epochs} loss ${(lossSum / seen).toFixed(4)} ${
        ((performance.now() - start) / 60000).toFixed(2)
      } min`,
    );
  }
  trainer?.finish();
  const wallMinutes = (performance.now() - start) / 60000;
  const cpu = process.cpuUsage(cpuStart);
  const loadEnd = os.loadavg();
  const bytes = encodeAdapterCheckpoint(net, scope, spec.name);
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeFile(new URL(`${spec.name}.safetensors`, out), bytes);
  const once = features ? featureFlops(net, trainCount) : 0;
  const stored = net.storedParameters(scope);
  const card = {
    name: spec.name,
    checkpoint: `${spec.name}.safetensors`,
    checkpointSha256: await sha256Hex(bytes),
    checkpointBytes: bytes.length,
    scope,
    bottleneck,
    method: spec.method,
    methodDetails: spec.impl.describe?.(spec.implParams) ?? {},
    backbone: { name: BACKBONE.name, checkpointSha256: backboneSha256, sizes: BACKBONE.sizes },
    trainedParameters: stored.reduce((s, p) => s + p.size, 0),
    adapterParameters: adapterParams.reduce((s, p) => s + p.size, 0),
    recipe: {
      ...r,
      script: "datasets/adapter_transfer/train_adapter.ts",
      gemmBackend: gemmBackend(),
      trainImages: trainCount,
    },
    data: { ...spec.dataset, trainSha256: train.sha256, testSha256: test.sha256 },
    metrics: { testAccuracy: 0, validationAccuracy: 0 },
    training: {
      steps: step,
      examples,
      flops: {
        ...flops,
        featuresOnce: once,
        total: flops.forward + flops.backwardInput + flops.backwardWeight + once,
      },
      // The same steps with every adapter entry active (the dense adapter's count).
      denseEquivalentFlops: denseFlops + once,
      wallMinutes,
      cpuMinutes: (cpu.user + cpu.system) / 6e7,
      loadAverage: loadEnd[0],
      loadAverages: { start: loadStart, end: loadEnd },
    },
    machine: { cores: navigator.hardwareConcurrency, deno: Deno.version.deno },
    trainedAt: new Date().toISOString(),
  };
  // Scored from the stored checkpoint through the bench's own loader and scoring path.
  await Deno.writeTextFile(new URL(`${spec.name}.json`, out), JSON.stringify(card, null, 2) + "\n");
  const { net: stored2 } = await loadAdapterModel(spec.name, out);
  card.metrics = {
    testAccuracy: shareCorrect(adapterCorrect(stored2, test)),
    validationAccuracy: shareCorrect(
      adapterCorrect(stored2, train, { start: trainCount, count: r.validation }),
    ),
  };
  log(`${spec.name}: ${JSON.stringify(card.metrics)} ${JSON.stringify(card.training)}`);
  await Deno.writeTextFile(new URL(`${spec.name}.json`, out), JSON.stringify(card, null, 2) + "\n");
  return card;
}
