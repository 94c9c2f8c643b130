// `deno run -A datasets/mnist/sparse_training_table.ts [--dataset fmnist]`: the committed MNIST
// (or Fashion-MNIST) sparse-training checkpoints side by side, as markdown: test accuracy with its bootstrap interval over the
// 10,000 test images, the paired difference from the dense model trained on the same budget at
// the same width (bootstrap over the images, both models scored on each), realized density,
// training FLOPs against dense, and wall and CPU time. Then the gaps the bars ask for.
import type { TrainedCard } from "../../bench/families/pruning/mod.ts";
import { bootstrapInterval, mean } from "../../bench/stats.ts";
import { loadMnist } from "./mnist.ts";
import { loadFashionMnist } from "../fashion_mnist/fashion_mnist.ts";
import { loadTrainedMlp } from "./trained_mlp.ts";
import { mlpCorrect } from "./train_mlp.ts";

/** Each dataset's checkpoint folder, test split and checkpoint-name prefix. */
const DATASETS = {
  mnist: { models: new URL("./models/", import.meta.url), load: loadMnist, prefix: "mnist-mlp" },
  fmnist: {
    models: new URL("../fashion_mnist/models/", import.meta.url),
    load: loadFashionMnist,
    prefix: "fmnist-mlp",
  },
};

interface Row {
  card: TrainedCard & {
    method: { id: string };
    checkpointBytes: number;
    density: Record<string, number>;
  };
  correct: number[];
  density: number;
}

/** Mean of a − b per image with its paired bootstrap interval, in points. */
function pairedGap(a: Row, b: Row): string {
  const diff = a.correct.map((c, i) => c - b.correct[i]);
  const [low, high] = bootstrapInterval(diff, mean);
  const f = (x: number) => (100 * x).toFixed(2);
  return `${f(mean(diff))} [${f(low)}, ${f(high)}]`;
}

async function rows(data: (typeof DATASETS)[keyof typeof DATASETS]): Promise<Row[]> {
  const test = await data.load("test");
  const out: Row[] = [];
  for await (const entry of Deno.readDir(data.models)) {
    if (!entry.name.endsWith(".json")) continue;
    const card = JSON.parse(await Deno.readTextFile(new URL(entry.name, data.models)));
    if (!card.training || !card.method) continue;
    const { model } = await loadTrainedMlp(data.models, card.name);
    const correct = Array.from(mlpCorrect(model, test, { start: 0, count: test.count }));
    const sizes = model.layers.map((l) => l.weight.size), all = sizes.reduce((a, b) => a + b, 0);
    const kept = model.layers.reduce((n, l) => n + l.weight.density() * l.weight.size, 0);
    out.push({ card, correct, density: kept / all });
  }
  return out.sort((a, b) => a.card.name.localeCompare(b.card.name));
}

if (import.meta.main) {
  const flag = Deno.args.indexOf("--dataset");
  const id = flag >= 0 ? Deno.args[flag + 1] : "mnist";
  if (id !== "mnist" && id !== "fmnist") {
    console.error(`--dataset must be mnist or fmnist: got '${id}'`);
    Deno.exit(2);
  }
  const data = DATASETS[id];
  const all = await rows(data);
  // The hidden width multiplier from the card's sizes (SortedNet's sub-networks: 0.25 … 1).
  const width = (r: Row) => r.card.sizes[1] / 300;
  const dense = (w: number) =>
    all.find((r) => r.card.method.id === "dense-trained" && width(r) === w);
  console.log(
    "| checkpoint | sizes | density | test accuracy % [95% CI] | Δ vs dense-trained, points [paired 95% CI] | train FLOPs (× dense) | wall min (load) | CPU min | KB |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of all) {
    const [low, high] = bootstrapInterval(r.correct, mean);
    const base = dense(width(r));
    const t = r.card.training;
    console.log(
      `| ${r.card.name} | ${r.card.sizes.join("-")} | ${r.density.toFixed(4)} | ${
        (100 * mean(r.correct)).toFixed(2)
      } [${(100 * low).toFixed(2)}, ${(100 * high).toFixed(2)}] | ${
        base && base !== r ? pairedGap(r, base) : "—"
      } | ${(t.flops.total / 1e12).toFixed(2)} T (${(t.flops.total / t.denseFlops).toFixed(3)}) | ${
        t.wallMinutes.toFixed(2)
      } (${t.loadAverage.toFixed(1)}) | ${t.cpuMinutes.toFixed(2)} | ${
        Math.round(r.card.checkpointBytes / 1024)
      } |`,
    );
  }
  const named = (name: string) => all.find((r) => r.card.name === `${data.prefix}-${name}`);
  console.log("\nGaps (points, paired 95% bootstrap interval over the test images):");
  for (
    const [a, b] of [
      ["rigl-erk-s90-w1", "dense-trained-w1"],
      ["rigl-erk-s95-w1", "dense-trained-w1"],
      ["sr-ste-2of4-w1", "dense-trained-w1"],
      ["random-init-erk-s90-w1", "rigl-erk-s90-w1"],
      ["random-init-erk-s90-w2", "rigl-erk-s90-w2"],
      ["random-init-erk-s90-w1", "dense-trained-w1"],
      ["random-init-erk-s90-w2", "dense-trained-w2"],
      ["random-init-uniform-s90-w1", "dense-trained-w1"],
      ["random-init-uniform-s90-w2", "dense-trained-w2"],
      ["granet-s90-from50-w1", "rigl-erk-s90-w1"],
      // Sparse-IFT's comparison is at equal FLOPs: the dense model of width 1.
      ["sparse-ift-wide-w2", "dense-trained-w1"],
      // PGF's claim is against SR-STE at the same pattern; BDWP's second mask against SR-STE 2:4.
      ...["2of4", "1of4", "1of8"].flatMap((nm) =>
        ["linear", "exp"].map((decay) => [`pgf-${decay}-${nm}-w1`, `sr-ste-${nm}-w1`])
      ),
      ["bdwp-2of4-w1", "sr-ste-2of4-w1"],
      // PGF's structure decay against SR-STE and against its own mask decay at the same pattern.
      ...["2of4", "1of4", "1of8"].flatMap((nm) => [
        [`pgf-stepwise-${nm}-w1`, `sr-ste-${nm}-w1`],
        [`pgf-stepwise-${nm}-w1`, `pgf-linear-${nm}-w1`],
      ]),
      // G2GNet's claim is against the dense model; then what rewiring adds to its static topology.
      ...["s75-g8", "s90-g16"].flatMap((layout) => {
        const g = (rewire: string) => `g2gnet-${layout}-contiguous-${rewire}-w1`;
        return [
          ...["static", "random", "hebbian"].map((r) => [g(r), "dense-trained-w1"]),
          [g("random"), g("static")],
          [g("hebbian"), g("static")],
          [g("hebbian"), g("random")],
        ];
      }),
      // AST and CAST distill from dense-trained-w1: their claim is against SR-STE at 2:4, from the
      // budget's initialization and from the dense model (the papers' setting).
      ...["ast", "cast"].flatMap((m) =>
        ["", "-fromdense"].flatMap((init) => [
          [`${m}-2of4-w1${init}`, "sr-ste-2of4-w1"],
          [`${m}-2of4-w1${init}`, "dense-trained-w1"],
        ])
      ),
      ["ast-2of4-w1", "cast-2of4-w1"],
      ["ast-2of4-w1-fromdense", "cast-2of4-w1-fromdense"],
      // AST without its distillation term (kd 0): what the teacher's loss adds.
      ["ast-2of4-w1", "ast-2of4-w1-kd0"],
      ["ast-2of4-w1-fromdense", "ast-2of4-w1-fromdense-kd0"],
      ["ast-2of4-w1-fromdense-kd0", "sr-ste-2of4-w1"],
      // Sparse Model Soups: the soup against each of its members, IMP's single retrain of a
      // member's length and IMP retrained m× longer (the soup's retraining FLOPs), and dense.
      ...["90", "95"].flatMap((s) =>
        ["member1", "member2", "member3", "member4", "imp", "imp-long", "greedy-soup"]
          .map((
            part,
          ) => [`sparse-model-soups-s${s}-m4-r2-soup`, `sparse-model-soups-s${s}-m4-r2-${part}`])
      ),
      ["sparse-model-soups-s90-m4-r2-soup", "dense-trained-w1"],
      ["sparse-model-soups-s95-m4-r2-soup", "dense-trained-w1"],
      // SortedNet: each nested width against the dense model of that width trained on its own.
      ...["0.25", "0.5", "0.75", "1"].map((w) => [`sortednet-g4-sub${w}`, `dense-trained-w${w}`]),
    ]
  ) {
    const ra = named(a), rb = named(b);
    if (ra && rb) console.log(`- ${a} − ${b}: ${pairedGap(ra, rb)}`);
  }
  // The soup against its best member, chosen by validation accuracy (never the test images).
  for (const s of ["90", "95"]) {
    const soup = named(`sparse-model-soups-s${s}-m4-r2-soup`);
    const members = [1, 2, 3, 4].map((k) => named(`sparse-model-soups-s${s}-m4-r2-member${k}`));
    if (!soup || members.some((m) => !m)) continue;
    const best = members.reduce((a, b) =>
      b!.card.metrics.validationAccuracy > a!.card.metrics.validationAccuracy ? b : a
    )!;
    console.log(
      `- sparse-model-soups-s${s} soup − its best member by validation (${
        best.card.name.split("-").at(-1)
      }): ${pairedGap(soup, best)}`,
    );
  }
}
