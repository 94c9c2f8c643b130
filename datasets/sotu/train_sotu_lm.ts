// The recipe of `sotu-lm`: a byte-level GPT trained on the SOTU training years.
// `deno task train sotu-lm` runs it; the same seed gives the same weights on the CPU path.
import process from "node:process";
import { encodeCheckpoint } from "../../bench/nn/checkpoint.ts";
import type { Param } from "../../bench/nn/param.ts";
import { decodeSafetensors, encodeSafetensors } from "../../bench/nn/safetensors.ts";
import { gemmBackend } from "../../bench/nn/gemm.ts";
import { Gpt, type GptConfig } from "../../bench/nn/gpt.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import { AdamW, cosineLr } from "../../bench/nn/optim.ts";
import { mulberry32, sha256Hex } from "../../bench/random.ts";
import { scoreBytes } from "./lm_eval.ts";
import { loadMobyDick, MOBY_PACKAGE, MOBY_VERSION } from "./moby_dick.ts";
import {
  loadSotuSpeeches,
  SOTU_PACKAGE,
  SOTU_VERSION,
  sotuSplitBytes,
  sotuSplitChars,
} from "./sotu.ts";

export const SOTU_LM_RECIPE = {
  model: { vocab: 256, context: 128, dim: 128, heads: 4, layers: 4 } satisfies GptConfig,
  seed: 1234,
  batch: 16,
  steps: 1600,
  warmup: 100,
  maxLr: 3e-3,
  minLr: 3e-4,
  beta2: 0.99,
  weightDecay: 0.1,
  clipNorm: 1,
  evalEvery: 250,
  /** Steps between resumable snapshots (weights and AdamW state) under tmp/sotu-lm/. */
  saveEvery: 50,
  /** Bytes of the validation split scored at each evaluation during training. */
  evalBytes: 32768,
};

export const SOTU_LM_DIR = new URL("./models/", import.meta.url);

/** Writes `text` to the log and stdout. */
type Log = (line: string) => void;

export interface TrainSotuLmOptions {
  log?: Log;
  steps?: number;
  out?: URL;
  /** Continue from the snapshot instead of starting afresh. */
  resume?: boolean;
  /** Where snapshots go (default tmp/sotu-lm/snapshot.safetensors). */
  snapshot?: URL;
  /** Changes to the recipe (tests use a tiny model). */
  recipe?: Partial<typeof SOTU_LM_RECIPE>;
  /** Stop after this step, as if killed (tests of `resume`). */
  stopAt?: number;
  /** Score the test years and Moby Dick and write the checkpoint and card (default true). */
  finalEval?: boolean;
}

/**
 * Trains sotu-lm and writes sotu-lm.safetensors and sotu-lm.json into `out` (default: models/
 * beside this file).
 *
 * @returns the trained parameters
 */
export async function trainSotuLm(
  options: TrainSotuLmOptions = {},
): Promise<Param[]> {
  const log = options.log ?? console.log;
  const r = { ...SOTU_LM_RECIPE, ...options.recipe, steps: options.steps ?? SOTU_LM_RECIPE.steps };
  const snapshot = options.snapshot ?? SNAPSHOT;
  const out = options.out ?? SOTU_LM_DIR;
  const speeches = await loadSotuSpeeches();
  const train = sotuSplitBytes(speeches, "train");
  const validation = sotuSplitBytes(speeches, "validation");
  const test = sotuSplitBytes(speeches, "test");
  const moby = await loadMobyDick();
  const hashes = {
    train: await sha256Hex(train),
    validation: await sha256Hex(validation),
    test: await sha256Hex(test),
    mobyDick: await sha256Hex(moby.bytes),
  };
  log(`sotu-lm: ${train.length} train bytes, ${validation.length} validation, ${test.length} test`);

  const model = new Gpt(r.model);
  model.init(r.seed);
  const params = model.parameters();
  const opt = new AdamW(params, {
    lr: r.maxLr,
    beta2: r.beta2,
    weightDecay: r.weightDecay,
    clipNorm: r.clipNorm,
  });
  const pick = mulberry32(r.seed ^ 0x5eed);
  const t = r.model.context, b = r.batch;
  const ids = new Int32Array(b * t), targets = new Int32Array(b * t);
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let smooth = 0, first = 0, priorWall = 0, priorCpu = 0;
  if (options.resume) {
    const snap = await readSnapshot(snapshot, params, opt);
    first = snap.step;
    priorWall = snap.wallMinutes;
    priorCpu = snap.cpuMinutes;
    // Replay the batch sampler, so a resumed run sees exactly the batches of an unbroken one.
    for (let i = 0; i < first * b; i++) pick();
    log(
      `resumed at step ${first} (${priorWall.toFixed(1)} min, ${
        priorCpu.toFixed(1)
      } CPU min so far)`,
    );
  }
  const wallSoFar = () => priorWall + (performance.now() - start) / 60000;
  const cpuSoFar = () => {
    const cpu = process.cpuUsage(cpuStart);
    return priorCpu + (cpu.user + cpu.system) / 6e7;
  };
  const last = Math.min(r.steps, options.stopAt ?? r.steps);
  for (let step = first; step < last; step++) {
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
    const norm = opt.step();
    smooth = step === first ? loss : 0.95 * smooth + 0.05 * loss;
    if (step % 10 === 0 || step === r.steps - 1) {
      const min = wallSoFar();
      log(
        `step ${step} loss ${loss.toFixed(4)} (smoothed ${(smooth / Math.LN2).toFixed(3)} bits) ` +
          `grad ${norm.toFixed(3)} lr ${opt.lr.toExponential(2)} ${min.toFixed(2)} min`,
      );
    }
    if ((step + 1) % r.evalEvery === 0 || step === r.steps - 1) {
      const v = scoreBytes(model, validation, { limit: r.evalBytes });
      log(
        `step ${step + 1} validation ${
          v.bitsPerByte.toFixed(4)
        } bits/byte (first ${r.evalBytes} bytes)`,
      );
    }
    if ((step + 1) % r.saveEvery === 0 || step === r.steps - 1) {
      await writeSnapshot(snapshot, params, opt, {
        step: step + 1,
        wallMinutes: wallSoFar(),
        cpuMinutes: cpuSoFar(),
      });
    }
  }
  if (options.finalEval === false || last < r.steps) return params;
  const trainMinutes = wallSoFar();
  // CPU time of this process: on a shared machine, wall time says more about the neighbours.
  const trainCpuMinutes = cpuSoFar();
  log(
    `training took ${trainMinutes.toFixed(1)} min (${
      trainCpuMinutes.toFixed(1)
    } CPU min); scoring the test years and Moby Dick`,
  );

  const evalStart = performance.now();
  const scoreOf = (bytes: Uint8Array, chars: number) => {
    const s = scoreBytes(model, bytes);
    return {
      bytes: bytes.length,
      chars,
      bitsPerByte: s.bitsPerByte,
      // Every byte but the first is predicted; the first costs log2(256) = 8 bits, so bits per
      // character counts the whole text.
      bitsPerChar: (s.bits + 8) / chars,
      perplexityPerByte: 2 ** s.bitsPerByte,
    };
  };
  const metrics = {
    test: scoreOf(test, sotuSplitChars(speeches, "test")),
    // The first 256 KiB of the validation years, to keep scoring time down.
    validationSlice: scoreBytes(model, validation, { limit: 262144 }),
    mobyDick: scoreOf(moby.bytes, moby.chars),
    // The fixed slice the tests re-score: the first 8 KiB of the test years.
    testSlice8KiB: scoreBytes(model, test, { limit: 8192 }),
  };
  const evalMinutes = (performance.now() - evalStart) / 60000;
  log(`metrics ${JSON.stringify(metrics)}`);

  const bytes = encodeCheckpoint(params, { model: "sotu-lm", format: "sparsebench-gpt-v1" });
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeFile(new URL("sotu-lm.safetensors", out), bytes);
  const card = {
    name: "sotu-lm",
    checkpoint: "sotu-lm.safetensors",
    checkpointSha256: await sha256Hex(bytes),
    checkpointBytes: bytes.length,
    parameters: params.reduce((n, p) => n + p.size, 0),
    recipe: { ...r, script: "datasets/sotu/train_sotu_lm.ts", gemmBackend: gemmBackend() },
    data: {
      sotu: {
        package: `${SOTU_PACKAGE}@${SOTU_VERSION}`,
        split: "test: years ending in 0; validation: ending in 5; train: the rest",
        sha256: hashes,
      },
      mobyDick: { package: `${MOBY_PACKAGE}@${MOBY_VERSION}`, sha256: hashes.mobyDick },
    },
    metrics,
    trainMinutes,
    trainCpuMinutes,
    evalMinutes,
    machine: {
      os: Deno.osRelease(),
      cores: navigator.hardwareConcurrency,
      deno: Deno.version.deno,
    },
    trainedAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(new URL("sotu-lm.json", out), JSON.stringify(card, null, 2) + "\n");
  log(`wrote ${new URL("sotu-lm.safetensors", out).pathname} (${bytes.length} bytes)`);
  return params;
}

const SNAPSHOT = new URL("../../tmp/sotu-lm/snapshot.safetensors", import.meta.url);

interface SnapshotInfo {
  step: number;
  wallMinutes: number;
  cpuMinutes: number;
}

/** Writes weights and AdamW moments (atomically) so `--resume` can continue the run. */
async function writeSnapshot(
  file: URL,
  params: Param[],
  opt: AdamW,
  info: SnapshotInfo,
): Promise<void> {
  const state = opt.exportState();
  const tensors = params.flatMap((p, k) => [
    { name: p.name, shape: p.shape, data: p.data },
    { name: `${p.name}#adam_m`, shape: p.shape, data: state.m[k] },
    { name: `${p.name}#adam_v`, shape: p.shape, data: state.v[k] },
  ]);
  const bytes = encodeSafetensors(tensors, {
    step: String(info.step),
    adam_t: String(state.t),
    wall_minutes: String(info.wallMinutes),
    cpu_minutes: String(info.cpuMinutes),
  });
  await Deno.mkdir(new URL(".", file), { recursive: true });
  const tmp = new URL(`${file.href}.tmp`);
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, file);
}

async function readSnapshot(file: URL, params: Param[], opt: AdamW): Promise<SnapshotInfo> {
  const { tensors, metadata } = decodeSafetensors(await Deno.readFile(file));
  const get = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`snapshot ${file.pathname} has no tensor '${name}'`);
    return t.data;
  };
  for (const p of params) p.data.set(get(p.name));
  opt.importState({
    t: Number(metadata.adam_t),
    m: params.map((p) => get(`${p.name}#adam_m`)),
    v: params.map((p) => get(`${p.name}#adam_v`)),
  });
  return {
    step: Number(metadata.step),
    wallMinutes: Number(metadata.wall_minutes),
    cpuMinutes: Number(metadata.cpu_minutes),
  };
}
