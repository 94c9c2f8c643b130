// `moe-layer-speed`: one seeded MoE layer (random experts of the MNIST MoE's shape, a seeded
// router) timed per gate on a batch of 1k–64k seeded tokens, E 8–64: the grouped layer (gate in
// WGSL → permutation → grouped expert FFN → combine, one submission) against the dense mixture
// and the dense FFN of equal active parameters, same run, same device, with each phase's share.
import {
  bindMoeLayerTrial,
  gateReference,
  type MoeEngine,
  MoeLayer,
  type MoeMethod,
  routingProblem,
  RoutingTally,
} from "../../bench/families/moe/mod.ts";
import {
  defineTask,
  type Method,
  type ParamSpecs,
  type ParamValues,
} from "../../bench/metadata.ts";
import type { PreparedCase, TaskContext, Trial } from "../../bench/plugin.ts";
import {
  fillExperts,
  installRouter,
  LAYER_WIDTH,
  layerInputs,
  layerSha256,
  seededRouter,
} from "./synthetic_layer.ts";

const PARAMS = {
  engine: {
    type: "enum",
    description:
      "where the layer runs: WebGPU (the gate in WGSL for gates that have a plan for it, then permutation, grouped expert FFN, combine) or the CPU (WebAssembly GEMM per expert)",
    values: ["webgpu", "wasm"],
    default: "webgpu",
    sweep: ["webgpu"],
  },
  tokens: {
    type: "int",
    description: "tokens in the timed batch (each expert's capacity, for Switch, is of this batch)",
    default: 16384,
    min: 1,
    max: 65536,
    sweep: [16384],
  },
  experts: {
    type: "int",
    description: "experts E in the layer (each 64 → 32 → 64, ReLU)",
    default: 8,
    min: 2,
    max: 64,
    sweep: [8],
  },
} satisfies ParamSpecs;

/**
 * The seeded router's top-1 routing of the batch must reach every expert and no expert more than
 * this many times the mean, or the inputs would time a degenerate routing.
 */
const MAX_SEEDED_MAX_VIO = 3;

const share = (phase: string) => ({
  name: `${phase}_time_share`,
  description: `share of the WebGPU layer's time in the ${
    phase.replace("_", " ")
  } (timestamp queries between phases where the adapter has them, else each phase timed alone); ${phase}_time_share_ci95_low/high: bootstrap over rounds; ${phase}_ms: its median milliseconds`,
  higherIsBetter: false,
});

export const moeLayerSpeed = defineTask({
  id: "moe-layer-speed",
  family: "moe",
  title: "MoE layer speed on seeded experts",
  description:
    "A seeded MoE layer (E experts 64 → 32 → 64 with a residual, the MNIST MoE's shape; a seeded router) on a batch of seeded tokens, timed per gate: every gate (Switch, top-k softmax k = 1, 2, GShard top-2, MoE-LLaVA, hash, BASE, expert choice) runs gate → selection → permutation → grouped expert FFN → combine in one WebGPU submission, against the dense mixture (the reference) and the dense FFN of equal active parameters. The gate's routing is checked against its float64 reference before timing, the output against the layer's float64 reference; each phase's share of the time is a metric.",
  version: "1.0.0",
  mainMetric: "achieved_gflops",
  metrics: [
    {
      name: "achieved_gflops",
      description:
        "the layer's multiply-adds ×2 (experts as routed, plus the router) / p50 latency",
      higherIsBetter: true,
      unit: "GFLOP/s",
    },
    share("gate"),
    share("permutation"),
    share("grouped_matmul"),
    share("combine"),
    {
      name: "routing_time_share",
      description:
        "gate + permutation share of the layer's time (on WebGPU with the gate in WGSL: from the phase times; else the CPU's estimate)",
      higherIsBetter: false,
    },
    {
      name: "gate_near_ties",
      description:
        "tokens whose WGSL routing differs from the float64 gate reference by a near-tie of its logits (|Δ| ≤ 1e-5·max(1, |logit|)), forgiven",
      higherIsBetter: false,
    },
    {
      name: "gate_on_gpu",
      description: "1 when the gate ran in WGSL inside the timed submission, 0 when on the CPU",
      higherIsBetter: true,
    },
    {
      name: "phase_times_from_timestamps",
      description:
        "1 when the phase shares come from GPU timestamp queries, 0 from separate submits",
      higherIsBetter: true,
    },
    {
      name: "load_cv",
      description: "coefficient of variation of the slots routed to each expert (the timed batch)",
      higherIsBetter: false,
    },
    {
      name: "max_vio",
      description: "most loaded expert's slots / the mean",
      higherIsBetter: false,
    },
    {
      name: "dropped_share",
      description: "share of tokens reaching no expert (Switch's capacity)",
      higherIsBetter: false,
    },
    { name: "dead_experts", description: "experts no token reached", higherIsBetter: false },
    { name: "active_experts", description: "mean experts a token reaches", higherIsBetter: false },
    {
      name: "router_entropy",
      description:
        "mean per-token entropy of the router's softmax / ln E (absent without a router)",
      higherIsBetter: false,
    },
  ],
  referenceMethod: "dense-mixture",
  dataset: {
    id: "moe-layer-speed",
    version: "1.0.0",
    source:
      "generated: datasets/moe_layer_speed/synthetic_layer.ts (seeded experts, router and tokens; card datasets/moe_layer_speed/README.md)",
    license: "CC0-1.0 (generated data)",
    // The pinned sample: E = 8, 1,024 tokens, case seed 0 (router and inputs); a test regenerates it.
    sha256: "ddac7b55dcec948a60f27fe7b04bd1da128e4a046412b8b2771e6c55fe81eb87",
  },
  parameters: PARAMS,
  profiles: {
    smoke: { engine: ["webgpu"], tokens: [1024], experts: [8] },
    quick: { engine: ["webgpu"], tokens: [16384], experts: [8, 32] },
    full: { engine: ["webgpu"], tokens: [1024, 4096, 16384, 65536], experts: [8, 16, 32, 64] },
  },
  requiresFeatures: ["layer-speed"],
  // Quick's first case (E = 8): Switch at its default capacity, top-k at k = 1 and 2, the dense
  // FFN at both widths (equal active parameters to each); E = 32 runs the defaults.
  methodValues: {
    quick: { "switch.capacityFactor": [1.25], "topk-softmax.k": [1, 2], "dense-ffn.width": [1, 2] },
  },
  impl: {
    async prepare(caseParams, ctx: TaskContext): Promise<PreparedCase> {
      const { tokens, experts } = caseParams, { dim, hidden } = LAYER_WIDTH;
      const router = seededRouter(experts, dim);
      const x = layerInputs(tokens, dim, ctx.seed);
      const ids = Uint32Array.from({ length: tokens }, (_, t) => t);
      // The seeded routing must be one worth timing: every expert reached, none far above the mean.
      const seeded = new RoutingTally(experts);
      seeded.add(
        gateReference({
          router,
          select: "top-k",
          k: 1,
          weighting: "probability",
          capacity: () => null,
        }, { x, tokens, dim }).routing,
      );
      const figures = seeded.figures();
      if (
        tokens >= 4 * experts && (figures.dead_experts > 0 || figures.max_vio > MAX_SEEDED_MAX_VIO)
      ) {
        throw new Error(
          `the seeded router's top-1 routing of ${tokens} tokens is degenerate at E = ${experts}: ${figures.dead_experts} dead experts, MaxVio ${
            figures.max_vio.toFixed(2)
          }`,
        );
      }
      const build = (method: Method, params: ParamValues) => {
        const impl = method.impl as MoeMethod;
        const layout = impl.layout?.(experts, hidden, params) ?? { experts, hidden };
        const gate = impl.createGate(
          { dim, experts: layout.experts },
          params,
          { seed: 1 },
        );
        const layer = new MoeLayer({ dim, ...layout }, gate);
        fillExperts(layer);
        if (layout.experts === experts) installRouter(layer, router);
        const routing = gate.route({ x, tokens, ids }, "eval");
        const tally = new RoutingTally(layout.experts);
        tally.add(routing);
        return {
          layer,
          metrics: tally.figures(),
          problem: routingProblem(routing, layout.experts),
          nominalActive: impl.nominalActive(experts, params),
        };
      };
      return {
        datasetSha256: await layerSha256(router, x),
        referenceMetrics(method, params) {
          return Promise.resolve(build(method, params).metrics);
        },
        bind(method, params): Promise<Trial> {
          const built = build(method, params);
          return bindMoeLayerTrial({
            model: { layer: built.layer, shape: built.layer.shape },
            h: x,
            ids,
            batch: tokens,
            engine: caseParams.engine as MoeEngine,
            ctx,
            metrics: built.metrics,
            problem: built.problem,
            nominalActive: built.nominalActive,
            experts,
            hidden,
            batchLabel: `${tokens} seeded tokens`,
          });
        },
        dispose() {},
      };
    },
  },
});
