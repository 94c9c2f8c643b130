// The recipes of `sotu-lm-short-{dense,sparse,ssa}`: sotu-lm's model and data at one shared,
// reduced budget (200 steps, an eighth of sotu-lm's 1,600), trained with dense attention, with
// block-sparse attention alone, or with SSA (both paths and their alignment at every layer).
import process from "node:process";
import { BlockSparseSelfAttention } from "../../bench/nn/block_sparse_attention.ts";
import { encodeCheckpoint } from "../../bench/nn/checkpoint.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { Gpt } from "../../bench/nn/gpt.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import type { Param } from "../../bench/nn/param.ts";
import { mulberry32, sha256Hex } from "../../bench/random.ts";
import { scoreBytes } from "./lm_eval.ts";
import { loadSotuSpeeches, SOTU_PACKAGE, SOTU_VERSION, sotuSplitBytes } from "./sotu.ts";
import { SOTU_LM_DIR, SOTU_LM_RECIPE } from "./train_sotu_lm.ts";

/** How attention is trained. */
export const SHORT_VARIANTS = ["dense", "sparse", "ssa"] as const;
export type ShortVariant = (typeof SHORT_VARIANTS)[number];

export const SOTU_LM_SHORT_RECIPE = {
  ...SOTU_LM_RECIPE,
  // What three models fit in one session on a shared two-core machine (~10 s a step under load).
  steps: 200,
  // sotu-lm's warm-up scaled by the same eighth.
  warmup: 13,
  evalEvery: 100,
  evalBytes: 8192,
  /**
   * The sparse path: blocks of 16 keys, each query keeps 2 of its ≤ 8 (its own and the best one
   * by q·mean(k)), NSA's selection branch without its compression and window branches.
   */
  sparse: { blockSize: 16, blocks: 2 },
  /**
   * SSA's alignment weight: the reference implementation's loss is CE + 10 · (mean over layers of
   * SmoothL1(full, sg(sparse)) + SmoothL1(sg(full), sparse)), so each layer gets 10 / layers.
   */
  alignWeight: 10,
  /** SSA: probability that a step's LM loss takes the sparse path (the reference: a fair coin). */
  sparseShare: 0.5,
  /** Seed of SSA's per-step coin, apart from the data sampler so all three see the same batches. */
  pathSeed: 0xa7e4,
};

export interface TrainSotuLmShortOptions {
  variant: ShortVariant;
  log?: (line: string) => void;
  out?: URL;
  /** Changes to the recipe (tests use a tiny model). */
  recipe?: Partial<typeof SOTU_LM_SHORT_RECIPE>;
  /**
   * Another budget (`--steps N`): the warm-up scales with it as sotu-lm's 100 of 1,600 (the card
   * records it; all three variants need the same one to compare).
   */
  steps?: number;
  /** Write the checkpoint and card (default true). */
  write?: boolean;
}

/** Builds the model a variant trains (and the evaluation loads): sparse-capable attention. */
export function shortLmModel(recipe: typeof SOTU_LM_SHORT_RECIPE = SOTU_LM_SHORT_RECIPE): {
  model: Gpt;
  attention: BlockSparseSelfAttention[];
} {
  const attention: BlockSparseSelfAttention[] = [];
  const model = new Gpt(recipe.model, {
    attention: (name, dim, heads) => {
      const a = new BlockSparseSelfAttention(name, dim, heads, { ...recipe.sparse });
      attention.push(a);
      return a;
    },
  });
  return { model, attention };
}

/**
 * Trains `sotu-lm-short-<variant>` and writes its checkpoint and card into `out` (default:
 * models/ beside this file). The dense variant's arithmetic is sotu-lm's (the full path is
 * CausalSelfAttention's, bit for bit), at the short budget.
 *
 * @returns the trained parameters and the log of per-step losses
 */
export async function trainSotuLmShort(
  options: TrainSotuLmShortOptions,
): Promise<{ params: Param[]; losses: number[] }> {
  const { variant } = options;
  if (!(SHORT_VARIANTS as readonly string[]).includes(variant)) {
    throw new RangeError(`variant must be one of ${SHORT_VARIANTS.join(", ")}: got '${variant}'`);
  }
  const name = `sotu-lm-short-${variant}`;
  const log = options.log ?? console.log;
  const steps = options.steps;
  if (steps !== undefined && (!Number.isInteger(steps) || steps < 1)) {
    throw new RangeError(`--steps must be a positive integer: got ${steps}`);
  }
  const r = {
    ...SOTU_LM_SHORT_RECIPE,
    ...options.recipe,
    ...(steps === undefined ? {} : { steps, warmup: Math.max(1, Math.round(steps / 16)) }),
  };
  const out = options.out ?? SOTU_LM_DIR;
  const speeches = await loadSotuSpeeches();
  const train = sotuSplitBytes(speeches, "train");
  const validation = sotuSplitBytes(speeches, "validation");
  const { model, attention } = shortLmModel(r);
  model.init(r.seed);
  const params = model.parameters();
  const opt = new AdamW(params, {
    lr: r.maxLr,
    beta2: r.beta2,
    weightDecay: r.weightDecay,
    clipNorm: r.clipNorm,
  });
  const setPath = (path: "full" | "sparse") => attention.forEach((a) => a.path = path);
  setPath(variant === "sparse" ? "sparse" : "full");
  if (variant === "ssa") attention.forEach((a) => a.alignWeight = r.alignWeight / r.model.layers);
  // The batch sampler of sotu-lm's recipe: the same seed gives the same batches to every variant.
  const pick = mulberry32(r.seed ^ 0x5eed);
  const coin = mulberry32(r.pathSeed);
  const t = r.model.context, b = r.batch;
  const ids = new Int32Array(b * t), targets = new Int32Array(b * t);
  const loadStart = Deno.loadavg();
  const start = performance.now(), cpuStart = process.cpuUsage();
  const losses: number[] = [];
  let sparseSteps = 0;
  for (let step = 0; step < r.steps; step++) {
    for (let row = 0; row < b; row++) {
      const s = Math.floor(pick() * (train.length - t - 1));
      for (let j = 0; j < t; j++) {
        ids[row * t + j] = train[s + j];
        targets[row * t + j] = train[s + j + 1];
      }
    }
    if (variant === "ssa") {
      const sparse = coin() < r.sparseShare;
      sparseSteps += sparse ? 1 : 0;
      setPath(sparse ? "sparse" : "full");
    }
    opt.lr = cosineLr(step, { maxLr: r.maxLr, minLr: r.minLr, warmup: r.warmup, total: r.steps });
    opt.zeroGrad();
    const { loss, dlogits } = softmaxCrossEntropy(model.forward(ids, b), targets);
    const align = attention.reduce((s, a) => s + a.alignLoss, 0);
    model.backward(dlogits);
    const norm = opt.step();
    losses.push(loss);
    if (step % 10 === 0 || step === r.steps - 1) {
      log(
        `${name} step ${step} ${attention[0].path} loss ${loss.toFixed(4)} align ${
          align.toFixed(4)
        } grad ${norm.toFixed(3)} lr ${opt.lr.toExponential(2)} ${
          ((performance.now() - start) / 60000).toFixed(2)
        } min`,
      );
    }
    if ((step + 1) % r.evalEvery === 0 || step === r.steps - 1) {
      log(`${name} step ${step + 1} validation ${validationLine(validation, r.evalBytes)}`);
    }
  }
  const trainMinutes = (performance.now() - start) / 60000;
  const cpu = process.cpuUsage(cpuStart);
  const trainCpuMinutes = (cpu.user + cpu.system) / 6e7;
  const loadEnd = Deno.loadavg();
  // Back to plain inference: alignment off, the variant's own path.
  attention.forEach((a) => a.alignWeight = 0);
  setPath(variant === "sparse" ? "sparse" : "full");
  log(
    `${name}: training took ${trainMinutes.toFixed(1)} min (${trainCpuMinutes.toFixed(1)} CPU min)`,
  );
  if (options.write === false) return { params, losses };

  const bytes = encodeCheckpoint(params, { model: name, format: "sparsebench-gpt-v1" });
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeFile(new URL(`${name}.safetensors`, out), bytes);
  const card = {
    name,
    checkpoint: `${name}.safetensors`,
    checkpointSha256: await sha256Hex(bytes),
    checkpointBytes: bytes.length,
    parameters: params.reduce((n, p) => n + p.size, 0),
    budget:
      `${r.steps} steps of batch ${r.batch} (sotu-lm: 1,600), shared by the three sotu-lm-short variants; not comparable to sotu-lm`,
    recipe: {
      ...r,
      variant,
      script: "datasets/sotu/train_sotu_lm_short.ts",
      gemmBackend: gemmBackend(),
      attention: variant === "dense"
        ? "full causal attention at every step"
        : variant === "sparse"
        ? "block-sparse attention at every step (no gradient to the keys it leaves out)"
        : "SSA: both paths at every layer, the LM loss on a per-step fair coin's path, plus the bidirectional alignment",
    },
    ssaSparseSteps: variant === "ssa" ? sparseSteps : undefined,
    data: {
      sotu: {
        package: `${SOTU_PACKAGE}@${SOTU_VERSION}`,
        split: "test: years ending in 0; validation: ending in 5; train: the rest",
        sha256: { train: await sha256Hex(train), validation: await sha256Hex(validation) },
      },
    },
    metrics: {
      finalTrainLoss: losses[losses.length - 1],
      // Mean of the last 50 steps' cross-entropy (nats), on the path each step took.
      trainLossLast50: losses.slice(-50).reduce((s, v) => s + v, 0) / Math.min(50, losses.length),
    },
    trainMinutes,
    trainCpuMinutes,
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
  return { params, losses };

  function validationLine(bytes: Uint8Array, limit: number): string {
    const saved = attention.map((a) => [a.path, a.alignWeight] as const);
    const line = (["full", "sparse"] as const).map((path) => {
      attention.forEach((a) => {
        a.path = path;
        a.alignWeight = 0;
      });
      return `${path} ${scoreBytes(model, bytes, { limit }).bitsPerByte.toFixed(4)}`;
    }).join(", ");
    attention.forEach((a, k) => [a.path, a.alignWeight] = saved[k]);
    return `${line} bits/byte (first ${limit} bytes)`;
  }
}
