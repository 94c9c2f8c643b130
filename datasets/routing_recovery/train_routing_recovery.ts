// The recipe of the routing-recovery models (`routing-recovery-<gate>`): the same budget, data
// order, seed and optimizer for every gate; only the gate (and the dense FFN's layout) differs.
import process from "node:process";
import type { Method, ParamValues } from "../../bench/metadata.ts";
import { writeMoeCheckpoint } from "../../bench/families/moe/mod.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import { mulberry32, sha256Hex } from "../../bench/random.ts";
import {
  generateRoutingRecovery,
  ROUTING_RECOVERY_SEED,
  ROUTING_RECOVERY_SHAPE,
  ROUTING_RECOVERY_SPLITS,
  type RoutingRecoveryPartition,
} from "./generator.ts";
import {
  createRoutingRecoveryModel,
  evaluateRoutingRecovery,
  pointIds,
  ROUTING_RECOVERY_EVAL_BATCH,
  ROUTING_RECOVERY_MODEL,
  routingRecoveryCheckpoint,
  routingRecoveryFigures,
} from "./routing_recovery_model.ts";

export const ROUTING_RECOVERY_RECIPE = {
  seed: 20251,
  epochs: 80,
  batch: 128,
  maxLr: 3e-3,
  minLr: 1e-5,
  warmupSteps: 200,
  weightDecay: 0.01,
  evalBatch: ROUTING_RECOVERY_EVAL_BATCH,
};

export interface RoutingRecoveryTrainingSpec {
  method: Method;
  params: ParamValues;
  experts: number;
  out: URL;
  /** The partition the data's regions follow ("sign" by default). */
  partition?: RoutingRecoveryPartition;
  /** Replaces the recipe's seed (model initialization and data order): the seed-spread study. */
  seed?: number;
  /** Stop after this many steps (tests). */
  maxSteps?: number;
}

/**
 * Trains one routing-recovery model by mean squared error on the training split and writes
 * `<name>.safetensors` and `<name>.json` into `spec.out`.
 */
export async function trainRoutingRecovery(
  spec: RoutingRecoveryTrainingSpec,
  log: (line: string) => void = console.log,
): Promise<{ name: string; card: Record<string, unknown> }> {
  const r = { ...ROUTING_RECOVERY_RECIPE, seed: spec.seed ?? ROUTING_RECOVERY_RECIPE.seed };
  const partition = spec.partition ?? "sign";
  const name = routingRecoveryCheckpoint(spec.method, spec.experts, spec.params, partition);
  const train = generateRoutingRecovery("train", partition);
  const validation = generateRoutingRecovery("validation", partition);
  const test = generateRoutingRecovery("test", partition);
  const model = createRoutingRecoveryModel(spec.method, spec.experts, spec.params);
  model.init(r.seed);
  const params = model.parameters();
  const opt = new AdamW(params, { lr: r.maxLr, weightDecay: r.weightDecay });
  const rand = mulberry32(r.seed ^ 0x3c3c);
  const d = train.inputs, order = Int32Array.from({ length: train.count }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(train.count / r.batch), total = r.epochs * stepsPerEpoch;
  const lastStep = Math.min(total, spec.maxSteps ?? total);
  const x = new Float32Array(r.batch * d), y = new Float32Array(r.batch);
  const start = performance.now(), cpuStart = process.cpuUsage();
  let step = 0, lastLoss = NaN;
  for (let epoch = 0; epoch < r.epochs && step < lastStep; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0, auxSum = 0, seen = 0;
    for (let s = 0; s < train.count && step < lastStep; s += r.batch) {
      const n = Math.min(r.batch, train.count - s);
      for (let k = 0; k < n; k++) {
        const row = order[s + k];
        x.set(train.x.subarray(row * d, row * d + d), k * d);
        y[k] = train.y[row];
      }
      model.layer.gate.progress?.(step / total);
      opt.lr = cosineLr(step++, { maxLr: r.maxLr, minLr: r.minLr, warmup: r.warmupSteps, total });
      opt.zeroGrad();
      const xs = x.subarray(0, n * d);
      const { logits, auxLoss } = model.forward(xs, n, pointIds(xs, n, d), "train");
      // Mean squared error and its gradient 2(ŷ − y)/n.
      const dlogits = new Float32Array(n);
      let loss = 0;
      for (let k = 0; k < n; k++) {
        const err = logits[k] - y[k];
        loss += err * err / n;
        dlogits[k] = 2 * err / n;
      }
      model.backward(dlogits);
      opt.step();
      lossSum += loss * n;
      auxSum += auxLoss * n;
      seen += n;
      lastLoss = loss;
    }
    if ((epoch + 1) % 10 === 0 || epoch + 1 === r.epochs) {
      const val = routingRecoveryFigures(
        evaluateRoutingRecovery(model, validation, { start: 0, count: validation.count }),
      );
      log(
        `${name} epoch ${epoch + 1}/${r.epochs} loss ${(lossSum / seen).toFixed(4)} aux ${
          (auxSum / seen).toFixed(4)
        } validation mse ${val.mse.toFixed(4)} ari ${val.ari.toFixed(3)} ${
          ((performance.now() - start) / 60000).toFixed(2)
        } min`,
      );
    }
  }
  model.layer.gate.progress?.(1);
  const trainMinutes = (performance.now() - start) / 60000, cpu = process.cpuUsage(cpuStart);
  const figures = routingRecoveryFigures(
    evaluateRoutingRecovery(model, test, { start: 0, count: test.count, batch: r.evalBatch }),
  );
  const val = routingRecoveryFigures(
    evaluateRoutingRecovery(model, validation, { start: 0, count: validation.count }),
  );
  const metrics = {
    testAri: figures.ari,
    testMse: figures.mse,
    validationAri: val.ari,
    validationMse: val.mse,
    lastTrainLoss: lastLoss,
    ...figures,
  };
  log(`${name}: ${JSON.stringify(metrics)}`);
  const file = await writeMoeCheckpoint(spec.out, name, spec.method.meta.id, params);
  const card = {
    name,
    ...file,
    experts: spec.experts,
    model: { ...model.shape, base: ROUTING_RECOVERY_MODEL },
    gate: { method: spec.method.meta.id, version: spec.method.meta.version, params: spec.params },
    recipe: {
      ...r,
      script: "datasets/routing_recovery/train_routing_recovery.ts",
      gemmBackend: gemmBackend(),
    },
    data: {
      generator: "datasets/routing_recovery/generator.ts",
      seed: ROUTING_RECOVERY_SEED,
      partition,
      shape: ROUTING_RECOVERY_SHAPE,
      splits: ROUTING_RECOVERY_SPLITS,
      trainSha256: await sha256Hex(train.x, train.y),
      testSha256: await sha256Hex(test.x, test.y),
    },
    metrics,
    steps: step,
    trainMinutes,
    trainCpuMinutes: (cpu.user + cpu.system) / 6e7,
    machine: { cores: navigator.hardwareConcurrency, deno: Deno.version.deno },
    trainedAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(new URL(`${name}.json`, spec.out), JSON.stringify(card, null, 2) + "\n");
  log(`wrote ${new URL(`${name}.safetensors`, spec.out).pathname} (${file.checkpointBytes} bytes)`);
  return { name, card };
}
