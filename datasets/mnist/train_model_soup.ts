// Sparse Model Soups' recipe on the image MLPs: from the committed dense-trained checkpoint, each
// IMP phase prunes its start model by global magnitude, retrains m copies of it with different
// batch orders and averages them (uniform and greedy soups); IMP's own chain (one retrain per
// phase, as long as a member or m times longer) runs beside it. Every model is written as a sparse
// checkpoint with a card whose training cost covers everything the model depends on.
import os from "node:os";
import process from "node:process";
import {
  averageSharedMask,
  encodeSparseCheckpoint,
  globalMagnitudeStep,
  greedySoupMembers,
  type StepFlops,
  trainingStepFlops,
} from "../../bench/families/pruning/mod.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { AdamW } from "../../bench/nn/optim.ts";
import { sha256Hex } from "../../bench/random.ts";
import { budgetBatches } from "./budget_batches.ts";
import type { ImageSet } from "./idx.ts";
import { mlpAccuracy } from "./train_mlp.ts";
import { SPARSE_BUDGET } from "./train_sparse_mlp.ts";
import { loadTrainedMlp } from "./trained_mlp.ts";

/** One IMP phase of the run: its sparsity and how its checkpoints are named. */
export interface SoupPhase {
  sparsity: number;
  /** The checkpoint name of a part ("soup", "member2", "imp-long", …) of this phase. */
  name(part: string): string;
  /** The method parameters a part's card records (its recipe names the checkpoint). */
  params(part: string): ParamValues;
}

/** One Sparse Model Soups run. */
export interface ModelSoupSpec {
  method: { id: string; version: string };
  phases: SoupPhase[];
  /** m: retrained copies per phase. */
  members: number;
  /** Epochs each member retrains for (imp-long: m times as many). */
  retrainEpochs: number;
  dataset: { id: string; source: string };
  load: (split: "train" | "test") => Promise<ImageSet>;
  /** The folder and name of the dense checkpoint the run starts from. */
  start: { dir: URL; name: string };
  out: URL;
  /** Changes to {@link SPARSE_BUDGET} (the fmnist recipe: no shifts; tests), recorded in the card. */
  recipe?: Partial<typeof SPARSE_BUDGET>;
  /** Train on the first this many images (tests). */
  trainImages?: number;
  /** Retrain steps per member instead of retrainEpochs' (tests). */
  retrainSteps?: number;
}

/** What one retraining run (or a chain of them) cost. */
interface RunCost {
  steps: number;
  examples: number;
  flops: StepFlops;
  wallMinutes: number;
  cpuMinutes: number;
}

function addCosts(...costs: RunCost[]): RunCost {
  const sum: RunCost = {
    steps: 0,
    examples: 0,
    flops: { forward: 0, backwardInput: 0, backwardWeight: 0 },
    wallMinutes: 0,
    cpuMinutes: 0,
  };
  for (const c of costs) {
    sum.steps += c.steps;
    sum.examples += c.examples;
    sum.flops.forward += c.flops.forward;
    sum.flops.backwardInput += c.flops.backwardInput;
    sum.flops.backwardWeight += c.flops.backwardWeight;
    sum.wallMinutes += c.wallMinutes;
    sum.cpuMinutes += c.cpuMinutes;
  }
  return sum;
}

/** A copy of a model: weights and masks. */
function cloneMlp(model: Mlp): Mlp {
  const copy = new Mlp(model.sizes);
  const from = model.parameters();
  copy.parameters().forEach((p, k) => {
    p.data.set(from[k].data);
    p.setMask(from[k].mask ? Float32Array.from(from[k].mask!) : null, "hard");
  });
  return copy;
}

/**
 * Retrains a pruned model in place, masks fixed: fresh AdamW at the budget's peak rate decaying
 * linearly to its floor over `steps` (no warm-up), on the budget's data stream seeded seed + k.
 */
function retrain(
  model: Mlp,
  train: ImageSet,
  r: typeof SPARSE_BUDGET,
  run: { steps: number; streamSeed: number; trainCount: number; label: string },
  log: (line: string) => void,
): RunCost {
  const opt = new AdamW(model.parameters(), { lr: r.maxLr, weightDecay: r.weightDecay });
  const flops: StepFlops = { forward: 0, backwardInput: 0, backwardWeight: 0 };
  const start = performance.now(), cpuStart = process.cpuUsage();
  const epochs = Math.ceil(run.steps / Math.ceil(run.trainCount / r.batch));
  let step = 0, examples = 0, lossSum = 0, seen = 0;
  for (
    const b of budgetBatches(train, {
      seed: run.streamSeed,
      batch: r.batch,
      shift: r.shift,
      trainCount: run.trainCount,
      epochs,
    })
  ) {
    if (step >= run.steps) break;
    const f = trainingStepFlops(model.layers, b.n, false);
    flops.forward += f.forward;
    flops.backwardInput += f.backwardInput;
    flops.backwardWeight += f.backwardWeight;
    opt.lr = r.minLr + (r.maxLr - r.minLr) * (1 - step / run.steps);
    opt.zeroGrad();
    const { loss, dlogits } = softmaxCrossEntropy(model.forward(b.x, b.n), b.y);
    model.backward(dlogits);
    opt.step();
    step++;
    examples += b.n;
    lossSum += loss * b.n;
    seen += b.n;
    if (b.lastOfEpoch || step === run.steps) {
      log(`${run.label} epoch ${b.epoch + 1} loss ${(lossSum / seen).toFixed(4)} step ${step}`);
      lossSum = seen = 0;
    }
  }
  const cpu = process.cpuUsage(cpuStart);
  return {
    steps: step,
    examples,
    flops,
    wallMinutes: (performance.now() - start) / 60000,
    cpuMinutes: (cpu.user + cpu.system) / 6e7,
  };
}

/**
 * Runs Sparse Model Soups and IMP's chains over every phase and writes each part's checkpoint and
 * card into `spec.out`.
 *
 * @returns the cards written, by checkpoint name
 */
export async function trainModelSoup(
  spec: ModelSoupSpec,
  log: (line: string) => void = console.log,
): Promise<Record<string, Record<string, unknown>>> {
  const r = { ...SPARSE_BUDGET, ...spec.recipe };
  const train = await spec.load("train"), test = await spec.load("test");
  const trainCount = spec.trainImages ?? train.count - r.validation;
  const stepsPerEpoch = Math.ceil(trainCount / r.batch);
  const retrainSteps = spec.retrainSteps ?? spec.retrainEpochs * stepsPerEpoch;
  const dense = await loadTrainedMlp(spec.start.dir, spec.start.name);
  const denseCard = dense.card;
  const pre: RunCost = {
    steps: denseCard.training.steps,
    examples: denseCard.training.examples,
    flops: denseCard.training.flops,
    wallMinutes: denseCard.training.wallMinutes,
    cpuMinutes: denseCard.training.cpuMinutes,
  };
  const validation = (m: Mlp) => mlpAccuracy(m, train, train.count - r.validation, r.validation);
  const weights = dense.model.layers.reduce((n, l) => n + l.weight.size, 0);
  const cards: Record<string, Record<string, unknown>> = {};
  await Deno.mkdir(spec.out, { recursive: true });

  const write = async (
    phase: SoupPhase,
    part: string,
    model: Mlp,
    cost: { total: RunCost; runs: { run: string; steps: number }[] },
    trainer: Record<string, unknown>,
  ) => {
    const name = phase.name(part);
    const bytes = encodeSparseCheckpoint(model.parameters(), {
      model: name,
      sizes: model.sizes.join(","),
    });
    await Deno.writeFile(new URL(`${name}.safetensors`, spec.out), bytes);
    const t = cost.total;
    const card = {
      name,
      checkpoint: `${name}.safetensors`,
      checkpointSha256: await sha256Hex(bytes),
      checkpointBytes: bytes.length,
      sizes: [...model.sizes],
      method: { ...spec.method, params: phase.params(part) },
      recipe: {
        ...r,
        sizes: [...model.sizes],
        script: "datasets/mnist/train_model_soup.ts",
        gemmBackend: gemmBackend(),
        trainImages: trainCount,
        start: { checkpoint: spec.start.name, sha256: denseCard.checkpointSha256 },
        phases: spec.phases.map((p) => p.sparsity),
        members: spec.members,
        retrainSteps,
        retrainSchedule:
          "fresh AdamW per run, lr maxLr → minLr linearly over the run, no warm-up; member k on the budget's stream seeded seed + k, imp and imp-long on seed + 0",
      },
      data: { ...spec.dataset, trainSha256: train.sha256, testSha256: test.sha256 },
      metrics: { testAccuracy: mlpAccuracy(model, test), validationAccuracy: validation(model) },
      density: Object.fromEntries(model.layers.map((l) => [l.weight.name, l.weight.density()])),
      trainer,
      training: {
        steps: t.steps,
        examples: t.examples,
        flops: {
          ...t.flops,
          total: t.flops.forward + t.flops.backwardInput + t.flops.backwardWeight,
        },
        denseFlops: 6 * t.examples * weights,
        wallMinutes: t.wallMinutes,
        cpuMinutes: t.cpuMinutes,
        loadAverage: os.loadavg()[0],
        includes:
          `the dense pre-training (${spec.start.name}, its card's cost) and every retraining run this model depends on`,
        runs: cost.runs,
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
  };

  // Each chain: its current start model, the cost so far and the runs it is made of.
  type Chain = { model: Mlp; cost: RunCost[]; runs: { run: string; steps: number }[] };
  const chain = (): Chain => ({
    model: dense.model,
    cost: [pre],
    runs: [{ run: spec.start.name, steps: pre.steps }],
  });
  const sms = chain(), imp = chain(), impLong = chain();
  for (const [p, phase] of spec.phases.entries()) {
    const tag = `phase ${p + 1} (${(100 * phase.sparsity).toFixed(0)}%)`;
    const pruned = cloneMlp(sms.model);
    globalMagnitudeStep(pruned.layers, phase.sparsity);
    const members: Mlp[] = [], memberCosts: RunCost[] = [];
    for (let k = 1; k <= spec.members; k++) {
      const member = cloneMlp(pruned);
      memberCosts.push(retrain(member, train, r, {
        steps: retrainSteps,
        streamSeed: r.seed + k,
        trainCount,
        label: `${tag} member ${k}`,
      }, log));
      members.push(member);
    }
    const memberRuns = memberCosts.map((c, k) => ({
      run: `${tag} member ${k + 1}`,
      steps: c.steps,
    }));
    const soupOf = (chosen: number[]) => {
      const soup = cloneMlp(pruned);
      averageSharedMask(chosen.map((k) => members[k].parameters()), soup.parameters());
      return soup;
    };
    const all = members.map((_, k) => k);
    const soup = soupOf(all);
    const memberValidation = members.map(validation);
    const greedy = greedySoupMembers(memberValidation, (chosen) => validation(soupOf(chosen)));
    const soupCost = {
      total: addCosts(...sms.cost, ...memberCosts),
      runs: [...sms.runs, ...memberRuns],
    };
    const figures = {
      memberValidationAccuracy: memberValidation,
      greedySoupMembers: greedy.map((k) => k + 1),
    };
    await write(phase, "soup", soup, soupCost, figures);
    await write(phase, "greedy-soup", soupOf(greedy), soupCost, figures);
    for (const [k, member] of members.entries()) {
      await write(phase, `member${k + 1}`, member, {
        total: addCosts(...sms.cost, memberCosts[k]),
        runs: [...sms.runs, memberRuns[k]],
      }, { member: k + 1, streamSeed: r.seed + k + 1 });
    }
    for (
      const [c, part, steps] of [[imp, "imp", retrainSteps], [
        impLong,
        "imp-long",
        spec.members * retrainSteps,
      ]] as const
    ) {
      const model = cloneMlp(c.model);
      globalMagnitudeStep(model.layers, phase.sparsity);
      const cost = retrain(model, train, r, {
        steps,
        streamSeed: r.seed,
        trainCount,
        label: `${tag} ${part}`,
      }, log);
      c.model = model;
      c.cost.push(cost);
      c.runs.push({ run: `${tag} ${part}`, steps: cost.steps });
      await write(phase, part, model, { total: addCosts(...c.cost), runs: [...c.runs] }, {
        streamSeed: r.seed,
      });
    }
    sms.model = soup;
    sms.cost.push(...memberCosts);
    sms.runs.push(...memberRuns);
  }
  return cards;
}
