// SPDF (Sparse Pre-training and Dense Fine-tuning, Thangarasa et al. 2023) on the byte LM: the
// 75%-sparse RigL pre-trained model and the dense one at the same 400-step SOTU budget are each
// fine-tuned DENSE (masks removed, every weight free, pruned ones starting at zero) on the first
// 90% of Moby Dick for the same small budget, then scored on its last 10%. SPDF's claim: the
// sparse pre-training costs little once the model is densely fine-tuned, at a fraction of the
// pre-training FLOPs. Writes spdf.json beside this file (`deno task train sotu-lm-short-spdf`, or
// `deno run -A datasets/sotu/spdf.ts`).
import os from "node:os";
import process from "node:process";
import type { Gpt } from "../../bench/nn/gpt.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import { mulberry32, sha256Hex } from "../../bench/random.ts";
import { scoreWindows } from "./lm_eval.ts";
import { loadMobyDick, MOBY_PACKAGE, MOBY_SHA256, MOBY_VERSION } from "./moby_dick.ts";
import {
  bitsPerChar,
  loadDense400,
  type LoadedLm,
  loadSparseLm,
  pairedBitsPerChar,
  sparseLayerDensity,
} from "./sparse_lm_eval.ts";
import { SPARSE_LM_BUDGET_TEXT } from "./train_sotu_lm_sparse.ts";

export const SPDF_RECIPE = {
  /** The sparse pre-trained model (models/sparse/). */
  sparse: "sotu-lm-short-rigl-erk-s75-w1-dt25",
  /** Share of Moby Dick (its first bytes) fine-tuned on; the rest is held out and scored. */
  trainShare: 0.9,
  /**
   * Bytes of the held-out part scored (its first 512 windows, 64 KiB + 1, as the task's default
   * slice): the whole 10% would double the scoring time on two shared cores.
   */
  heldOutBytes: 65537,
  steps: 100,
  batch: 16,
  warmup: 10,
  // A tenth of pre-training's peak, a common fine-tuning rate; the same for both models.
  maxLr: 3e-4,
  minLr: 3e-5,
  beta2: 0.99,
  weightDecay: 0.1,
  clipNorm: 1,
  /** Seed of the fine-tuning batch sampler: both models see the same batches. */
  seed: 0x5bdf,
};

/** Splits the book at `share` of its bytes, moved forward to the next character boundary. */
export function splitTarget(
  bytes: Uint8Array,
  share: number,
): { train: Uint8Array; heldOut: Uint8Array } {
  let cut = Math.floor(share * bytes.length);
  while (cut < bytes.length && (bytes[cut] & 0xc0) === 0x80) cut++;
  return { train: bytes.subarray(0, cut), heldOut: bytes.subarray(cut) };
}

/**
 * Fine-tunes `model` densely in place: masks removed (pruned weights stay at zero until the
 * gradient moves them), fresh AdamW, the recipe's cosine schedule, batches from `train`.
 *
 * @returns the per-step losses, wall and CPU minutes
 */
export function denseFineTune(
  model: Gpt,
  train: Uint8Array,
  r: typeof SPDF_RECIPE = SPDF_RECIPE,
  log: (line: string) => void = () => {},
): { losses: number[]; wallMinutes: number; cpuMinutes: number } {
  const params = model.parameters();
  for (const p of params) p.setMask(null);
  const opt = new AdamW(params, {
    lr: r.maxLr,
    beta2: r.beta2,
    weightDecay: r.weightDecay,
    clipNorm: r.clipNorm,
  });
  const pick = mulberry32(r.seed);
  const t = model.config.context, b = r.batch;
  const ids = new Int32Array(b * t), targets = new Int32Array(b * t);
  const losses: number[] = [];
  const start = performance.now(), cpuStart = process.cpuUsage();
  for (let step = 0; step < r.steps; step++) {
    for (let row = 0; row < b; row++) {
      const s = Math.floor(pick() * (train.length - t - 1));
      for (let j = 0; j < t; j++) {
        ids[row * t + j] = train[s + j];
        targets[row * t + j] = train[s + j + 1];
      }
    }
    opt.lr = cosineLr(step, { maxLr: r.maxLr, minLr: r.minLr, warmup: r.warmup, total: r.steps });
    opt.zeroGrad();
    const { loss, dlogits } = softmaxCrossEntropy(model.forward(ids, b), targets);
    model.backward(dlogits);
    opt.step();
    losses.push(loss);
    if (step % 10 === 0 || step === r.steps - 1) log(`step ${step} loss ${loss.toFixed(4)}`);
  }
  const cpu = process.cpuUsage(cpuStart);
  return {
    losses,
    wallMinutes: (performance.now() - start) / 60000,
    cpuMinutes: (cpu.user + cpu.system) / 6e7,
  };
}

/** Runs SPDF's comparison and writes spdf.json (or `out`). */
export async function spdfStudy(
  log: (line: string) => void = console.log,
  out: URL = new URL("./spdf.json", import.meta.url),
): Promise<Record<string, unknown>> {
  const r = SPDF_RECIPE;
  const book = (await loadMobyDick()).bytes;
  const { train, heldOut: rest } = splitTarget(book, r.trainShare);
  const heldOut = rest.subarray(0, r.heldOutBytes);
  const loadStart = os.loadavg();
  const models: LoadedLm[] = [await loadSparseLm(r.sparse), await loadDense400()];
  const results = models.map((m) => {
    const density = sparseLayerDensity(m.model);
    const zeroShot = scoreWindows(m.model, heldOut).windows;
    log(
      `${m.name}: held-out ${
        bitsPerChar(zeroShot, heldOut).bitsPerChar.toFixed(4)
      } bits/char before fine-tuning`,
    );
    const fineTune = denseFineTune(m.model, train, r, (line) => log(`${m.name} fine-tune ${line}`));
    const tuned = scoreWindows(m.model, heldOut).windows;
    log(
      `${m.name}: held-out ${bitsPerChar(tuned, heldOut).bitsPerChar.toFixed(4)} bits/char after`,
    );
    const card = m.card as {
      training?: { flops: { total: number }; denseFlops: number; totalFlopsRatio: number };
    };
    return { m, density, zeroShot, tuned, fineTune, training: card.training };
  });
  const [sparse, dense] = results;
  const sparseTraining = sparse.training!;
  const linearWeights = models[1].model.linears().reduce((n, l) => n + l.weight.size, 0);
  const result = {
    study:
      "SPDF: sparse pre-training + dense fine-tuning vs dense pre-training + dense fine-tuning",
    budget: `pre-training: ${SPARSE_LM_BUDGET_TEXT}`,
    recipe: { ...r, script: "datasets/sotu/spdf.ts" },
    target: {
      text: `${MOBY_PACKAGE}@${MOBY_VERSION}`,
      sha256: MOBY_SHA256,
      split: `fine-tuned on bytes [0, ${train.length}) (the first ${
        r.trainShare * 100
      }%, cut at a character boundary), held out [${train.length}, ${book.length}), of which the first ${heldOut.length} bytes are scored`,
      trainSha256: await sha256Hex(train),
      heldOutSha256: await sha256Hex(heldOut),
      heldOutWindows: sparse.tuned.length,
    },
    rows: results.map((x) => ({
      pretrained: x.m.name,
      pretrainDensity: x.density,
      pretrainLinearFlopsRatio: x.training ? x.training.flops.total / x.training.denseFlops : 1,
      pretrainTotalFlopsRatio: x.training?.totalFlopsRatio ?? 1,
      zeroShot: bitsPerChar(x.zeroShot, heldOut),
      fineTuned: bitsPerChar(x.tuned, heldOut),
      fineTuneTrainLossLast10: x.fineTune.losses.slice(-10).reduce((s, v) => s + v, 0) / 10,
      fineTuneWallMinutes: x.fineTune.wallMinutes,
      fineTuneCpuMinutes: x.fineTune.cpuMinutes,
    })),
    // Sparse-pretrained minus dense-pretrained, paired over the same held-out windows.
    pairs: {
      zeroShot: pairedBitsPerChar(sparse.zeroShot, dense.zeroShot, heldOut),
      fineTuned: pairedBitsPerChar(sparse.tuned, dense.tuned, heldOut),
    },
    flops: {
      pretrainDenseLinear: sparseTraining.denseFlops,
      pretrainSparseLinear: sparseTraining.flops.total,
      pretrainLinearSaved: sparseTraining.denseFlops - sparseTraining.flops.total,
      // Every weight dense in both fine-tunings: 6 FLOPs per Linear weight per token.
      fineTuneLinear: 6 * r.steps * r.batch * models[1].model.config.context * linearWeights,
    },
    loadAverage: { start: loadStart, end: os.loadavg() },
    machine: { cores: navigator.hardwareConcurrency, deno: Deno.version.deno },
    ranAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  log(`wrote ${out.pathname}`);
  return result;
}

if (import.meta.main) {
  try {
    await spdfStudy((line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
