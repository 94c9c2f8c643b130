// The recipes of `sotu-moe-lm-e8-k1` and `sotu-moe-lm-e8-k2`: the 400-step sotu-lm-short-dense
// recipe (same seed, batches, learning-rate schedule, warm-up, weight decay) with every block's FFN
// replaced by a dropless MoE layer of 8 experts at equal active parameters: k = 1 with experts of
// the dense FFN's width (4·dim = 512), k = 2 with experts of half that.
import process from "node:process";
import { encodeCheckpoint } from "../../bench/nn/checkpoint.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { Gpt } from "../../bench/nn/gpt.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { MoeFfn } from "../../bench/nn/moe_ffn.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import type { Param } from "../../bench/nn/param.ts";
import { mulberry32, sha256Hex } from "../../bench/random.ts";
import { scoreBytes } from "./lm_eval.ts";
import { loadSotuSpeeches, SOTU_PACKAGE, SOTU_VERSION, sotuSplitBytes } from "./sotu.ts";
import { SOTU_LM_SHORT_RECIPE } from "./train_sotu_lm_short.ts";

/** Where the MoE checkpoints and cards live. */
export const SOTU_MOE_DIR = new URL("./models/moe/", import.meta.url);

/** The shared 400-step budget of datasets/sotu/models/steps400/ (its dense model's warm-up). */
export const SOTU_MOE_RECIPE = {
  ...SOTU_LM_SHORT_RECIPE,
  steps: 400,
  warmup: 25,
  experts: 8,
  /** Switch's balance-loss weight α in α·E·Σ fᵢPᵢ, per MoE layer. */
  alpha: 0.01,
};

/** Experts per token the two recipes use. */
export const SOTU_MOE_KS = [1, 2] as const;

/** `sotu-moe-lm-e<E>-k<k>`. */
export function sotuMoeName(k: number, experts = SOTU_MOE_RECIPE.experts): string {
  return `sotu-moe-lm-e${experts}-k${k}`;
}

/** Each expert's hidden width at equal active parameters: the dense FFN's 4·dim split k ways. */
export function expertHidden(dim: number, k: number): number {
  return (4 * dim) / k;
}

/** The MoE GPT a recipe trains (and the task loads): its MoE layers too. */
export function sotuMoeModel(
  k: number,
  r: typeof SOTU_MOE_RECIPE = SOTU_MOE_RECIPE,
): { model: Gpt; moe: MoeFfn[] } {
  const moe: MoeFfn[] = [];
  const hidden = expertHidden(r.model.dim, k);
  if (!Number.isInteger(hidden)) throw new RangeError(`4·dim must divide by k = ${k}`);
  const model = new Gpt(r.model, {
    ffn: (name, dim) => {
      const f = new MoeFfn(name, { dim, hidden, experts: r.experts, k, alpha: r.alpha });
      moe.push(f);
      return f;
    },
  });
  return { model, moe };
}

/**
 * Matrix-product FLOPs of one training step (forward 2·MACs, backward twice that), the routed FFN
 * counted at k experts per token, the router included, attention's q·kᵀ and p·v at full t².
 */
export function moeTrainingStepFlops(k: number, r: typeof SOTU_MOE_RECIPE): number {
  const { dim, layers, vocab, context: t } = r.model, tokens = r.batch * t;
  const perToken = layers * (4 * dim * dim + dim * r.experts + k * 2 * dim * expertHidden(dim, k)) +
    dim * vocab;
  const attention = layers * 2 * r.batch * t * t * dim;
  return 3 * 2 * (tokens * perToken + attention);
}

/** Parameters a token uses: everything but the experts it is not routed to. */
export function activeParameters(model: Gpt, moe: MoeFfn[]): number {
  const total = model.parameters().reduce((n, p) => n + p.size, 0);
  const idle = moe.reduce((n, f) => {
    const perExpert = f.experts[0].parameters().reduce((m, p) => m + p.size, 0);
    return n + (f.shape.experts - f.shape.k) * perExpert;
  }, 0);
  return total - idle;
}

export interface TrainSotuMoeLmOptions {
  k: number;
  log?: (line: string) => void;
  out?: URL;
  /** Changes to the recipe (tests use a tiny model). */
  recipe?: Partial<typeof SOTU_MOE_RECIPE>;
  /** Write the checkpoint and card (default true). */
  write?: boolean;
}

/**
 * Trains `sotu-moe-lm-e8-k<k>` and writes its checkpoint and card into `out` (default
 * {@link SOTU_MOE_DIR}). The loss is the LM's cross-entropy plus each MoE layer's balance loss.
 *
 * @returns the parameters, the per-step LM losses and the card
 */
export async function trainSotuMoeLm(
  options: TrainSotuMoeLmOptions,
): Promise<{ params: Param[]; losses: number[]; card: Record<string, unknown> | null }> {
  const { k } = options;
  const r = { ...SOTU_MOE_RECIPE, ...options.recipe };
  if (!Number.isInteger(k) || k < 1 || k > r.experts) {
    throw new RangeError(`k must be an integer in [1, ${r.experts}]: got ${k}`);
  }
  const name = sotuMoeName(k, r.experts);
  const log = options.log ?? console.log;
  const out = options.out ?? SOTU_MOE_DIR;
  const speeches = await loadSotuSpeeches();
  const train = sotuSplitBytes(speeches, "train");
  const validation = sotuSplitBytes(speeches, "validation");
  const { model, moe } = sotuMoeModel(k, r);
  model.init(r.seed);
  const params = model.parameters();
  const opt = new AdamW(params, {
    lr: r.maxLr,
    beta2: r.beta2,
    weightDecay: r.weightDecay,
    clipNorm: r.clipNorm,
  });
  // sotu-lm's batch sampler: the same seed gives the dense model's batches.
  const pick = mulberry32(r.seed ^ 0x5eed);
  const t = r.model.context, b = r.batch;
  const ids = new Int32Array(b * t), targets = new Int32Array(b * t);
  const loadStart = Deno.loadavg();
  const start = performance.now(), cpuStart = process.cpuUsage();
  const losses: number[] = [], aux: number[] = [];
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
    const balance = moe.reduce((s, f) => s + f.auxLoss, 0);
    model.backward(dlogits);
    const norm = opt.step();
    losses.push(loss);
    aux.push(balance);
    if (step % 10 === 0 || step === r.steps - 1) {
      log(
        `${name} step ${step} loss ${loss.toFixed(4)} balance ${balance.toFixed(4)} grad ${
          norm.toFixed(3)
        } lr ${opt.lr.toExponential(2)} ${((performance.now() - start) / 60000).toFixed(2)} min`,
      );
    }
    if ((step + 1) % r.evalEvery === 0 || step === r.steps - 1) {
      const bpb = scoreBytes(model, validation, { limit: r.evalBytes }).bitsPerByte;
      log(`${name} step ${step + 1} validation ${bpb.toFixed(4)} bits/byte (first ${r.evalBytes})`);
    }
  }
  const trainMinutes = (performance.now() - start) / 60000;
  const cpu = process.cpuUsage(cpuStart);
  const trainCpuMinutes = (cpu.user + cpu.system) / 6e7;
  const loadEnd = Deno.loadavg();
  log(
    `${name}: training took ${trainMinutes.toFixed(1)} min (${trainCpuMinutes.toFixed(1)} CPU min)`,
  );
  if (options.write === false) return { params, losses, card: null };

  const bytes = encodeCheckpoint(params, { model: name, format: "sparsebench-moe-gpt-v1" });
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeFile(new URL(`${name}.safetensors`, out), bytes);
  const stepFlops = moeTrainingStepFlops(k, r);
  const card: Record<string, unknown> = {
    name,
    checkpoint: `${name}.safetensors`,
    checkpointSha256: await sha256Hex(bytes),
    checkpointBytes: bytes.length,
    parameters: params.reduce((n, p) => n + p.size, 0),
    activeParameters: activeParameters(model, moe),
    budget:
      `400-step budget, not comparable to sotu-lm: ${r.steps} steps of batch ${r.batch} (sotu-lm: 1,600), the recipe of steps400/sotu-lm-short-dense`,
    recipe: {
      ...r,
      k,
      expertHidden: expertHidden(r.model.dim, k),
      script: "datasets/sotu/train_sotu_moe_lm.ts",
      gemmBackend: gemmBackend(),
      ffn: `dropless MoE: float32 linear router, softmax over ${r.experts} experts, top-${k}${
        k > 1 ? " renormalized" : " scaled by its probability"
      }, loss CE + Σ_layers α·E·Σ fᵢPᵢ (fᵢ over first choices)`,
      init:
        "Gpt.init: N(0, 0.02) for every matrix, the router's included; experts' proj scaled 1/√(2·layers)",
    },
    data: {
      sotu: {
        package: `${SOTU_PACKAGE}@${SOTU_VERSION}`,
        split: "test: years ending in 0; validation: ending in 5; train: the rest",
        sha256: { train: await sha256Hex(train), validation: await sha256Hex(validation) },
      },
    },
    metrics: {
      finalTrainLoss: losses[losses.length - 1],
      trainLossLast50: mean(losses.slice(-50)),
      balanceLossLast50: mean(aux.slice(-50)),
    },
    trainingFlops: { perStep: stepFlops, total: stepFlops * r.steps },
    trainMinutes,
    trainCpuMinutes,
    steps: r.steps,
    // Load averages (1, 5, 15 min) at the start and the end: the machine is shared.
    loadAverage: { start: loadStart, end: loadEnd },
    machine: {
      os: Deno.osRelease(),
      cores: navigator.hardwareConcurrency,
      deno: Deno.version.deno,
    },
    trainedAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(new URL(`${name}.json`, out), JSON.stringify(card, null, 2) + "\n");
  log(`wrote ${new URL(`${name}.safetensors`, out).pathname} (${bytes.length} bytes)`);
  return { params, losses, card };
}

function mean(v: number[]): number {
  return v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
}

if (import.meta.main) {
  const k = Number(Deno.args[0]);
  try {
    await trainSotuMoeLm({
      k,
      log: (line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`),
    });
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(2);
  }
}
