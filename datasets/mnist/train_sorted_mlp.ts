// SortedNet's recipe on the image MLPs: the full 784-300-100-10 model and its nested sub-networks
// trained together on the shared budget (its steps, data order, init seed and AdamW schedule).
// Each step draws g widths, accumulates the drawn sub-networks' mean gradient into the shared
// weights, and updates only the widest drawn one's parameters. Writes one dense checkpoint per
// width (the full model's leading block) with a card recording the whole run's cost.
import os from "node:os";
import process from "node:process";
import {
  addLeadingGradients,
  copyLeadingBlock,
  encodeSparseCheckpoint,
  holdOutsideBlock,
  nestedSizes,
  sampleNestedWidths,
  type StepFlops,
} from "../../bench/families/pruning/mod.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import { hashString, mulberry32, sha256Hex } from "../../bench/random.ts";
import { budgetBatches } from "./budget_batches.ts";
import type { ImageSet } from "./idx.ts";
import { mlpAccuracy } from "./train_mlp.ts";
import { mlpSizesAtWidth, SPARSE_BUDGET } from "./train_sparse_mlp.ts";

/** One SortedNet run. */
export interface SortedMlpSpec {
  method: { id: string; version: string };
  /** The nested widths, narrowest first; the last is the full model (1). */
  widths: number[];
  /** g: sub-networks drawn per optimizer step. */
  draws: number;
  /** Seed of the draws' stream. */
  seed: number;
  /** The checkpoint name of a width's sub-network. */
  name(width: number): string;
  /** The method parameters a width's card records. */
  params(width: number): ParamValues;
  dataset: { id: string; source: string };
  load: (split: "train" | "test") => Promise<ImageSet>;
  out: URL;
  /** Changes to {@link SPARSE_BUDGET} (the fmnist recipe: no shifts; tests), recorded in the card. */
  recipe?: Partial<typeof SPARSE_BUDGET>;
  /** Train on the first this many images (tests). */
  trainImages?: number;
  /** Stop after this many steps (tests). */
  maxSteps?: number;
}

/** Weights (not biases) of a model: the 6-FLOPs-per-example-per-weight count's base. */
function weightCount(model: Mlp): number {
  return model.layers.reduce((n, l) => n + l.weight.size, 0);
}

/**
 * Trains the nested widths together and writes each width's checkpoint and card into `spec.out`.
 *
 * @returns the cards written, by checkpoint name
 */
export async function trainSortedMlp(
  spec: SortedMlpSpec,
  log: (line: string) => void = console.log,
): Promise<Record<string, Record<string, unknown>>> {
  const r = { ...SPARSE_BUDGET, ...spec.recipe };
  if (spec.widths.at(-1) !== 1) {
    throw new RangeError(
      `SortedNet's widest sub-network must be the full model: got ${spec.widths}`,
    );
  }
  const train = await spec.load("train"), test = await spec.load("test");
  const full = new Mlp(mlpSizesAtWidth(1));
  full.init(r.seed);
  const subs = spec.widths.map((w) => new Mlp(nestedSizes(full.sizes, w)));
  const opt = new AdamW(full.parameters(), { lr: r.maxLr, weightDecay: r.weightDecay });
  const moments = opt.exportState();
  const drawStream = mulberry32(hashString("sortednet-draws", spec.seed));
  const trainCount = spec.trainImages ?? train.count - r.validation;
  const total = r.epochs * Math.ceil(trainCount / r.batch);
  const lastStep = Math.min(total, spec.maxSteps ?? total);
  const flops: StepFlops = { forward: 0, backwardInput: 0, backwardWeight: 0 };
  const drawn = spec.widths.map(() => 0);
  const validation = (m: Mlp) => mlpAccuracy(m, train, train.count - r.validation, r.validation);
  const start = performance.now(), cpuStart = process.cpuUsage();
  let step = 0, examples = 0, lossSum = 0, seen = 0;
  for (
    const b of budgetBatches(train, {
      seed: r.seed,
      batch: r.batch,
      shift: r.shift,
      trainCount,
      epochs: r.epochs,
    })
  ) {
    if (step >= lastStep) break;
    opt.lr = cosineLr(step, { maxLr: r.maxLr, minLr: r.minLr, warmup: r.warmupSteps, total });
    opt.zeroGrad();
    const draws = sampleNestedWidths(drawStream, spec.widths.length, spec.draws);
    const copied = new Set<number>();
    for (const d of draws) {
      const sub = subs[d];
      // The weights do not change within a step: one copy per drawn width.
      if (!copied.has(d)) {
        copyLeadingBlock(full, sub);
        copied.add(d);
      }
      for (const p of sub.parameters()) p.grad.fill(0);
      const { loss, dlogits } = softmaxCrossEntropy(sub.forward(b.x, b.n), b.y);
      sub.backward(dlogits);
      addLeadingGradients(full, sub, 1 / spec.draws);
      const f = 2 * b.n * weightCount(sub);
      flops.forward += f;
      flops.backwardInput += f;
      flops.backwardWeight += f;
      drawn[d]++;
      lossSum += loss * b.n / spec.draws;
    }
    const hold = holdOutsideBlock(full, subs[Math.max(...draws)], moments);
    opt.step();
    hold.restore();
    step++;
    examples += b.n;
    seen += b.n;
    if (b.lastOfEpoch || step === lastStep) {
      const accs = subs.map((sub) => {
        copyLeadingBlock(full, sub);
        return (100 * validation(sub)).toFixed(2);
      });
      log(
        `sortednet epoch ${b.epoch + 1}/${r.epochs} loss ${(lossSum / seen).toFixed(4)} ` +
          `validation % by width ${spec.widths.map((w, i) => `${w}: ${accs[i]}`).join(", ")} ${
            ((performance.now() - start) / 60000).toFixed(2)
          } min`,
      );
      lossSum = seen = 0;
    }
  }
  const wallMinutes = (performance.now() - start) / 60000;
  const cpu = process.cpuUsage(cpuStart);
  await Deno.mkdir(spec.out, { recursive: true });
  const cards: Record<string, Record<string, unknown>> = {};
  for (const [i, width] of spec.widths.entries()) {
    const sub = subs[i], name = spec.name(width);
    copyLeadingBlock(full, sub);
    const bytes = encodeSparseCheckpoint(sub.parameters(), {
      model: name,
      sizes: sub.sizes.join(","),
    });
    await Deno.writeFile(new URL(`${name}.safetensors`, spec.out), bytes);
    const card = {
      name,
      checkpoint: `${name}.safetensors`,
      checkpointSha256: await sha256Hex(bytes),
      checkpointBytes: bytes.length,
      sizes: [...sub.sizes],
      method: { ...spec.method, params: spec.params(width) },
      recipe: {
        ...r,
        sizes: [...full.sizes],
        script: "datasets/mnist/train_sorted_mlp.ts",
        gemmBackend: gemmBackend(),
        trainImages: trainCount,
        widths: spec.widths,
        draws: spec.draws,
        drawSeed: spec.seed,
        sampling:
          "g widths per step, uniform with replacement; mean gradient of the drawn sub-networks; only the widest drawn one's parameters (and AdamW moments) updated",
      },
      data: { ...spec.dataset, trainSha256: train.sha256, testSha256: test.sha256 },
      metrics: { testAccuracy: mlpAccuracy(sub, test), validationAccuracy: validation(sub) },
      density: Object.fromEntries(sub.layers.map((l) => [l.weight.name, 1])),
      trainer: {
        width,
        drawsPerWidth: Object.fromEntries(spec.widths.map((w, k) => [String(w), drawn[k]])),
        widthWeights: weightCount(sub),
        fullWeights: weightCount(full),
      },
      training: {
        steps: step,
        examples,
        flops: {
          ...flops,
          total: flops.forward + flops.backwardInput + flops.backwardWeight,
        },
        // The width-1 dense model on the same steps: SortedNet trains every width in this run.
        denseFlops: 6 * examples * weightCount(full),
        wallMinutes,
        cpuMinutes: (cpu.user + cpu.system) / 6e7,
        loadAverage: os.loadavg()[0],
        includes: "the one SortedNet run that trains every width together",
      },
      machine: { cores: navigator.hardwareConcurrency, deno: Deno.version.deno },
      trainedAt: new Date().toISOString(),
    };
    await Deno.writeTextFile(
      new URL(`${name}.json`, spec.out),
      JSON.stringify(card, null, 2) + "\n",
    );
    log(`${name}: ${JSON.stringify(card.metrics)} (${bytes.length} bytes)`);
    cards[name] = card;
  }
  return cards;
}
