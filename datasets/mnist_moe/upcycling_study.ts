// `deno task train moe-upcycling-study`: MoE-LLaVA's staged recipe (sparse upcycling) against the
// same gate and noisy top-k trained from scratch on the same budget, from the committed
// checkpoints: test accuracy with its interval, the paired difference (both models scored on each
// test image, bootstrap over the images), and the routing figures. Writes upcycling_study.json
// beside this file and returns the markdown table.
import type { Method, ParamValues } from "../../bench/metadata.ts";
import { defaultParams } from "../../bench/metadata.ts";
import { bootstrapInterval, mean } from "../../bench/stats.ts";
import { loadFashionMnist } from "../fashion_mnist/fashion_mnist.ts";
import { FMNIST_MOE_MODELS } from "../fashion_mnist/fmnist_moe.ts";
import { loadMnist } from "../mnist/mnist.ts";
import type { ImageSet } from "../mnist/idx.ts";
import { loadMoeCheckpoint, MODELS_DIR } from "./mnist_moe_task.ts";
import { accuracyOf, EVAL_BATCH, evaluateMoe } from "./moe_model.ts";

/** The models compared in each setting: label, method id and the parameters set. */
const ENTRIES: { label: string; id: string; set: ParamValues }[] = [
  { label: "moe-llava (staged: dense ½, then MoE layer)", id: "moe-llava", set: {} },
  {
    label: "moe-llava staged, every weight trained in the MoE stage (moeStageTrains=all)",
    id: "moe-llava",
    set: { moeStageTrains: "all" },
  },
  { label: "moe-llava from scratch (denseShare=0)", id: "moe-llava", set: { denseShare: 0 } },
  { label: "topk-softmax k=2 from scratch", id: "topk-softmax", set: {} },
  { label: "dense-ffn width 1 (the dense model, full budget)", id: "dense-ffn", set: {} },
];
const SETTINGS = [
  { data: "mnist", prefix: "mnist-moe", dir: MODELS_DIR, experts: 4 },
  { data: "mnist", prefix: "mnist-moe", dir: MODELS_DIR, experts: 8 },
  { data: "mnist", prefix: "mnist-moe", dir: MODELS_DIR, experts: 16 },
  { data: "fashion-mnist", prefix: "fmnist-moe", dir: FMNIST_MOE_MODELS, experts: 8 },
];

interface Scored {
  label: string;
  checkpoint: string;
  correct: number[];
  figures: Record<string, number>;
  trainFlops: number;
  steps: number;
}

/** Mean of a − b per image with its 95% paired bootstrap interval. */
function pairedDifference(a: Scored, b: Scored): { mean: number; low: number; high: number } {
  const diff = a.correct.map((c, i) => c - b.correct[i]);
  const [low, high] = bootstrapInterval(diff, mean);
  return { mean: mean(diff), low, high };
}

/**
 * Scores every entry in every setting whose checkpoint is committed (the rest are listed as
 * missing) and compares the staged gate with each of the others.
 *
 * @param methods the MoE registry (the CLI entry passes it; datasets do not import methods)
 */
export async function upcyclingStudy(
  methods: readonly Method[],
  log: (line: string) => void = console.log,
): Promise<string> {
  const byId = (id: string) => {
    const m = methods.find((m) => m.meta.id === id);
    if (!m) throw new RangeError(`Cannot run the upcycling study: no method '${id}' registered`);
    return m;
  };
  const tests: Record<string, ImageSet> = {
    mnist: await loadMnist("test"),
    "fashion-mnist": await loadFashionMnist("test"),
  };
  const pct = (x: number) => (100 * x).toFixed(2);
  const lines = [
    "| data, E | model | test acc. [95% CI] | staged − this [95% paired CI] | this − same gate from scratch | load CV | MaxVio | dead | entropy | train FLOPs |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const out: Record<string, unknown>[] = [];
  for (const s of SETTINGS) {
    const test = tests[s.data], scored: Scored[] = [];
    for (const e of ENTRIES) {
      const method = byId(e.id);
      const params: ParamValues = { ...defaultParams(method.meta.parameters), ...e.set };
      let loaded;
      try {
        loaded = await loadMoeCheckpoint(method, s.experts, params, {
          prefix: s.prefix,
          modelsDir: s.dir,
        });
      } catch (err) {
        log(`${s.prefix} E=${s.experts} ${e.label}: ${(err as Error).message}`);
        continue;
      }
      const ev = evaluateMoe(loaded.model, test, {
        start: 0,
        count: test.count,
        batch: EVAL_BATCH,
      });
      const card = loaded.card as { trainFlops: number; steps: number };
      scored.push({
        label: e.label,
        checkpoint: loaded.name,
        correct: Array.from(ev.correct),
        figures: { accuracy: accuracyOf(ev), ...ev.tally.figures() },
        trainFlops: card.trainFlops,
        steps: card.steps,
      });
    }
    const staged = scored.find((r) => r.label === ENTRIES[0].label);
    const scratch = scored.find((r) => r.label === ENTRIES[2].label);
    const cell = (d: { mean: number; low: number; high: number } | null) =>
      d ? `${pct(d.mean)} [${pct(d.low)}, ${pct(d.high)}]` : "—";
    for (const r of scored) {
      const [low, high] = bootstrapInterval(r.correct, mean);
      const diff = staged && r !== staged ? pairedDifference(staged, r) : null;
      const vsScratch = scratch && r !== scratch ? pairedDifference(r, scratch) : null;
      const f = r.figures;
      lines.push(
        `| ${s.data}, ${s.experts} | ${r.label} | ${pct(f.accuracy)}% [${pct(low)}–${
          pct(high)
        }] | ${cell(diff)} | ${cell(vsScratch)} | ${f.load_cv.toFixed(3)} | ${
          f.max_vio.toFixed(2)
        } | ${f.dead_experts} | ${
          f.router_entropy === undefined ? "—" : f.router_entropy.toFixed(3)
        } | ${(r.trainFlops / 1e9).toFixed(0)} G |`,
      );
      out.push({
        data: s.data,
        experts: s.experts,
        model: r.label,
        checkpoint: r.checkpoint,
        steps: r.steps,
        trainFlops: r.trainFlops,
        accuracyCi95: [low, high],
        ...f,
        stagedMinusThis: diff,
        thisMinusSameGateFromScratch: vsScratch,
      });
    }
  }
  const file = new URL("./upcycling_study.json", import.meta.url);
  await Deno.writeTextFile(file, JSON.stringify(out, null, 2) + "\n");
  const table = lines.join("\n");
  log(table);
  log(`wrote ${file.pathname}`);
  return table;
}
