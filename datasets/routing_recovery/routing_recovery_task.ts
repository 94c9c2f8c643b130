// Task `routing-recovery`: does a gate's learned routing find the partition that generated the
// data? Each gate's committed checkpoint (trained on the training split) is scored on the held-out
// test split: the adjusted Rand index of its routing against the true regions and the regression
// error, each with a bootstrap interval; its MoE layer's forward is timed against the dense mixture's.
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
} from "../../bench/metadata.ts";
import { loadCheckpoint } from "../../bench/nn/checkpoint.ts";
import type { PreparedCase, TaskContext, Trial } from "../../bench/plugin.ts";
import { SkipCase } from "../../bench/plugin.ts";
import { sha256Hex } from "../../bench/random.ts";
import { readCheckpoint } from "../mnist/reference_mlp.ts";
import {
  generateRoutingRecovery,
  ROUTING_RECOVERY_PARTITIONS,
  ROUTING_RECOVERY_SEED,
  ROUTING_RECOVERY_SPLITS,
  type RoutingRecoveryPartition,
} from "./generator.ts";
import {
  createRoutingRecoveryModel,
  evaluateRoutingRecovery,
  pointIds,
  ROUTING_RECOVERY_EVAL_BATCH,
  ROUTING_RECOVERY_MODEL,
  routingRecoveryCheckpoint,
  routingRecoveryFigures,
} from "./routing_recovery_model.ts";
import { fileSource } from "../file_source.ts";

export const ROUTING_RECOVERY_MODELS = new URL("./models/", import.meta.url);

/** sha256 of the sign partition's test inputs and targets (float32, in order), pinned so a change shows. */
export const ROUTING_RECOVERY_TEST_SHA256 =
  "7bbcbf143192f4ec21ec07c1155f6ae370e9cdb7b2f805031b7967dd5a53ddfa";

const PARAMS = {
  partition: {
    type: "enum",
    description:
      "the regions' shape: sign = the sign patterns of 3 hidden orthonormal directions (equal masses; a 3-bit code), voronoi = the nearest of 8 hidden centres (unequal masses); a checkpoint per gate and partition",
    values: [...ROUTING_RECOVERY_PARTITIONS],
    default: "sign",
    sweep: [...ROUTING_RECOVERY_PARTITIONS],
  },
  engine: MOE_ENGINE_PARAM,
  experts: {
    type: "int",
    description:
      "experts E in the model's MoE layer (a checkpoint per gate and E; the truth has 8 regions)",
    default: 8,
    min: 1,
    max: 64,
    sweep: [8],
  },
  batch: {
    type: "int",
    description: "points per timed forward of the MoE layer (the layer's input: the stem's output)",
    default: 256,
    min: 1,
    max: ROUTING_RECOVERY_SPLITS.test,
    sweep: [256],
  },
  testPoints: {
    type: "int",
    description:
      `test points scored (the first ones), in evaluation batches of ${ROUTING_RECOVERY_EVAL_BATCH}`,
    default: ROUTING_RECOVERY_SPLITS.test,
    min: 2,
    max: ROUTING_RECOVERY_SPLITS.test,
    sweep: [ROUTING_RECOVERY_SPLITS.test],
  },
} satisfies ParamSpecs;

/** Evaluations already made in this process, by method, parameters, E and count. */
const QUALITY_CACHE = new Map<
  string,
  Promise<
    {
      model: MoeMlp;
      problem: string | null;
      metrics: Record<string, number>;
      nominalActive: number;
    }
  >
>();

/** A method's committed checkpoint loaded into its model, with its card. */
export async function loadRoutingRecoveryCheckpoint(
  method: Method,
  experts: number,
  params: ParamValues,
  partition: RoutingRecoveryPartition = "sign",
): Promise<{ model: MoeMlp; card: Record<string, unknown>; name: string }> {
  const name = routingRecoveryCheckpoint(method, experts, params, partition);
  const found = await fileSource().exists(new URL(`${name}.json`, ROUTING_RECOVERY_MODELS));
  if (!found) {
    throw new SkipCase(
      `no committed checkpoint '${name}': train it with \`deno task train routing-recovery-${method.meta.id} --experts ${experts} --partition ${partition}\` and the cell's trained parameters`,
    );
  }
  const { card, bytes } = await readCheckpoint(ROUTING_RECOVERY_MODELS, name);
  const model = createRoutingRecoveryModel(method, experts, params);
  loadCheckpoint(model.parameters(), bytes);
  return { model, card: card as unknown as Record<string, unknown>, name };
}

export const routingRecovery = defineTask({
  id: "routing-recovery",
  family: "moe",
  title: "Routing recovery on a seeded mixture of regressions",
  description:
    "Points x ~ N(0, I₈) fall in 8 regions — the sign patterns of 3 hidden orthonormal directions (partition sign) or the cells of 8 hidden centres (voronoi); each region has its own linear regression (plus noise σ = 0.1). An MoE regressor (8 → 16 → E experts 16→16→16 with a residual → 1) is trained per gate on the training split; on the held-out test split the task scores the adjusted Rand index of the routing (each point's highest-weight expert) against the true regions, and the mean squared error. Its MoE layer's forward is timed per batch against the dense mixture's.",
  // 1.1.0: the ARI interval leaves out pairs of one point's copies in each resample (1.0.0's
  // intervals were biased upward near 0: hash's excluded its own estimate).
  version: "1.1.0",
  mainMetric: "ari",
  metrics: [
    {
      name: "ari",
      description:
        "adjusted Rand index of each test point's highest-weight expert (−1 if none) against its true region; ari_ci95_low/high bound it (bootstrap over the points; in each resample, pairs of one point's copies are left out)",
      higherIsBetter: true,
    },
    {
      name: "mse",
      description:
        "mean squared error of the prediction on the test points (the noise floor is 0.01); mse_ci95_low/high bound it",
      higherIsBetter: false,
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
        "share of test points reaching no expert (dropped at a capacity, or chosen by none)",
      higherIsBetter: false,
    },
    { name: "dead_experts", description: "experts no test point reached", higherIsBetter: false },
    { name: "active_experts", description: "mean experts a point reaches", higherIsBetter: false },
    {
      name: "router_entropy",
      description:
        "mean per-point entropy of the router's distribution over experts / ln E (absent without a router)",
      higherIsBetter: false,
    },
    {
      name: "card_test_ari",
      description: "test ARI the training log recorded",
      higherIsBetter: true,
    },
    { name: "parameters", description: "parameters of the whole model", higherIsBetter: false },
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
  dataset: {
    id: "routing-recovery",
    version: "1.0.0",
    source:
      `generated by datasets/routing_recovery/generator.ts, seed ${ROUTING_RECOVERY_SEED} (datasets/routing_recovery/README.md); models trained by datasets/routing_recovery/train_routing_recovery.ts`,
    license: "CC0-1.0 (generated data)",
    sha256: ROUTING_RECOVERY_TEST_SHA256,
  },
  parameters: PARAMS,
  profiles: {
    smoke: {
      partition: ["sign"],
      engine: ["wasm"],
      experts: [8],
      batch: [256],
      testPoints: [1024],
    },
    quick: {
      partition: ["sign", "voronoi"],
      engine: ["wasm"],
      experts: [8],
      batch: [256],
      testPoints: [ROUTING_RECOVERY_SPLITS.test],
    },
    full: {
      partition: ["sign", "voronoi"],
      engine: ["wasm", "webgpu"],
      experts: [8],
      batch: [256, 2048],
      testPoints: [ROUTING_RECOVERY_SPLITS.test],
    },
  },
  requiresFeatures: ["moe-layer"],
  quickSweep: false,
  impl: {
    async prepare(caseParams, ctx: TaskContext): Promise<PreparedCase> {
      const { experts, batch, testPoints: count } = caseParams;
      if (batch > count) throw new RangeError(`batch ${batch} must be ≤ testPoints ${count}`);
      const partition = caseParams.partition as RoutingRecoveryPartition;
      const test = generateRoutingRecovery("test", partition), d = test.inputs;
      const x = test.x.subarray(0, batch * d), ids = pointIds(x, batch, d);
      const quality = (method: Method, params: ParamValues) => {
        const key = [method.meta.id, JSON.stringify(params), partition, experts, count].join("|");
        const hit = QUALITY_CACHE.get(key);
        if (hit) return hit;
        const made = evaluate(method, params);
        made.catch(() => QUALITY_CACHE.delete(key));
        QUALITY_CACHE.set(key, made);
        while (QUALITY_CACHE.size > 64) QUALITY_CACHE.delete(QUALITY_CACHE.keys().next().value!);
        return made;
      };
      const evaluate = async (method: Method, params: ParamValues) => {
        const { model, card } = await loadRoutingRecoveryCheckpoint(
          method,
          experts,
          params,
          partition,
        );
        const e = evaluateRoutingRecovery(model, test, { start: 0, count });
        const cardMetrics = card.metrics as Record<string, number>;
        return {
          model,
          problem: e.problem,
          metrics: {
            ...routingRecoveryFigures(e),
            card_test_ari: cardMetrics.testAri,
            parameters: card.parameters as number,
            train_minutes: card.trainMinutes as number,
          },
          nominalActive: (method.impl as MoeMethod).nominalActive(experts, params),
        };
      };
      return {
        datasetSha256: partition === "sign"
          ? ROUTING_RECOVERY_TEST_SHA256
          : await sha256Hex(test.x, test.y),
        async referenceMetrics(method, params) {
          return (await quality(method, params)).metrics;
        },
        async bind(method, params): Promise<Trial> {
          const q = await quality(method, params);
          // The layer's input: the stem's output on the timed points (outside the timed region).
          q.model.forward(x, batch, ids, "eval");
          return bindMoeLayerTrial({
            model: q.model,
            h: q.model.lastHidden!,
            ids,
            batch,
            engine: caseParams.engine as MoeEngine,
            ctx,
            metrics: q.metrics,
            problem: q.problem,
            nominalActive: q.nominalActive,
            experts,
            hidden: ROUTING_RECOVERY_MODEL.hidden,
            batchLabel: `${batch} test points`,
          });
        },
        dispose() {},
      };
    },
  },
});
