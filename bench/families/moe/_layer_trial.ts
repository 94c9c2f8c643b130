// The timed part every MoE task shares: a model's MoE layer bound as a trial, its forward on one
// batch timed on the CPU (WebAssembly GEMM per expert) or WebGPU (the gate in WGSL where the gate
// has a plan for it, permutation, grouped expert FFN, combine: one submission), then checked
// against the float64 references with the task's quality figures.
import { TimedSubmit } from "../../gpu/timed_submit.ts";
import type { TaskContext, Trial, TrialResult } from "../../plugin.ts";
import { SkipCase } from "../../plugin.ts";
import { wallTimer } from "../../wall_timer.ts";
import { GATE_WEIGHT_TOLERANCE } from "./_gate_reference.ts";
import { checkGpuRoute, routeCut } from "./_gpu_gate_route.ts";
import { createGpuMoeLayer, type GpuRouting, routesTokenByToken } from "./_gpu_layer.ts";
import type { GpuRoutePlan, Routing } from "./_interface.ts";
import { type MoeLayer, type MoeLayerShape, permuteByExpert } from "./_layer.ts";
import { measurePhaseTimes } from "./_phase_times.ts";
import {
  checkedTokens,
  compareWithReference,
  MOE_TOLERANCE_TEXT,
  moeLayerReference,
  pickTokens,
} from "./_reference.ts";

/** What the trial times: an MoE layer and its shape (a trained `MoeMlp` is one). */
export interface TimedMoeModel {
  layer: MoeLayer;
  shape: MoeLayerShape;
}

/** Where the timed layer runs. */
export type MoeEngine = "wasm" | "webgpu";

/** What a task hands over to time and check one method's layer. */
export interface MoeLayerTrialSpec {
  model: TimedMoeModel;
  /** The layer's input on the timed batch, row-major [batch × dim] (the stem's output). */
  h: Float32Array;
  /** The batch's token ids (hash routing). */
  ids: Uint32Array;
  batch: number;
  engine: MoeEngine;
  ctx: TaskContext;
  /** The method's quality and routing figures, already scored on the task's evaluated stream. */
  metrics: Record<string, number>;
  /** The first malformed routing of the evaluated stream, or null. */
  problem: string | null;
  /** Experts a token is sent to, as the method declares. */
  nominalActive: number;
  /** The task's E and expert width: the dense mixture's cost and the densities are against them. */
  experts: number;
  hidden: number;
  /** What the timed batch holds, for the check's message (e.g. "256 test images"). */
  batchLabel: string;
}

/** Multiply-adds of the layer on a batch: experts as routed, plus the router (its weights per token). */
function layerMacs(model: TimedMoeModel, slots: number, tokens: number): number {
  const { dim, hidden } = model.shape;
  const router = model.layer.gate.parameters().reduce((n, p) => n + p.size, 0);
  return slots * 2 * dim * hidden + tokens * router;
}

/**
 * Share of the layer's time spent in the gate and the permutation by expert: medians of 7 untimed
 * repetitions of each, after the timed rounds (an estimate beside the sampled latency).
 */
function routingTimeShare(
  model: TimedMoeModel,
  h: Float32Array,
  batch: number,
  ids: Uint32Array,
): number {
  const med = (f: () => void) => {
    const times: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t = performance.now();
      f();
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[3];
  };
  const route = med(() => {
    const r = model.layer.gate.route({ x: h, tokens: batch, ids }, "eval");
    permuteByExpert(r, model.shape.experts);
  });
  const whole = med(() => void model.layer.forward(h, batch, ids, "eval"));
  return whole > 0 ? Math.min(1, route / whole) : 0;
}

/**
 * Runs the GPU gate once (untimed) and checks its routing against the plan's plain reference
 * (`checkGpuRoute`), and against the gate's own CPU routing (`cpu`, its `route` in evaluation:
 * the plan must be the gate's rule): the verdict a latency is published under, known before the
 * first timed sample.
 */
async function checkGpuGate(
  layer: Awaited<ReturnType<typeof createGpuMoeLayer>>,
  device: GPUDevice,
  expected: {
    plan: GpuRoutePlan;
    input: { x: Float32Array; ids: Uint32Array; tokens: number; dim: number };
    cpu: Routing;
  },
): Promise<{ read: GpuRouting; problem: string | null; nearTies: number; forgiven: string }> {
  const encoder = device.createCommandEncoder();
  layer.encode(encoder);
  device.queue.submit([encoder.finish()]);
  const read = await layer.readRouting();
  const agreement = checkGpuRoute(expected.plan, read, expected.input);
  let problem = agreement.problem;
  // Without a near-tie (which may also move later capacity drops), the CPU gate's routing must
  // be the GPU's slot for slot.
  if (problem === null && agreement.nearTies === 0) {
    const { cpu } = expected;
    const slot = cpu.experts.length !== read.routing.experts.length
      ? 0
      : cpu.experts.findIndex((e, s) => e !== read.routing.experts[s]);
    const weight = cpu.weights.findIndex((w, s) =>
      !(Math.abs(w - read.routing.weights[s]) <= GATE_WEIGHT_TOLERANCE)
    );
    if (slot >= 0) {
      problem = `slot ${slot}: the CPU gate routes to expert ${
        cpu.experts[slot]
      }, the WGSL gate to ${read.routing.experts[slot]} (its plan is not the gate's rule)`;
    } else if (weight >= 0) {
      problem = `slot ${weight}: the CPU gate weighs ${cpu.weights[weight]}, the WGSL gate ${
        read.routing.weights[weight]
      } (its plan is not the gate's rule)`;
    }
  }
  return { read, problem, nearTies: agreement.nearTies, forgiven: agreement.forgiven };
}

/**
 * Binds a model's MoE layer as a trial: setup outside timing (on WebGPU, pipelines compiled and,
 * for a gate with a WGSL plan, its routing run once and checked against the float64 gate
 * reference; for other gates, their CPU routing of the batch uploaded); `sample()` times the
 * layer's forward; `finish()` checks the output against {@link moeLayerReference} within
 * `MOE_TOLERANCE` and the evaluated stream's routings, and reports the figures, densities
 * (against the task's E experts of width `hidden`), FLOPs against the dense mixture's and, on
 * WebGPU, each phase's share of the layer's time.
 *
 * @throws {SkipCase} for the WebGPU engine on a machine without an adapter
 */
export async function bindMoeLayerTrial(spec: MoeLayerTrialSpec): Promise<Trial> {
  const { model, h, ids, batch, ctx } = spec;
  let gpu = null;
  if (spec.engine === "webgpu") {
    if (!ctx.gpu) throw new SkipCase("no WebGPU adapter on this machine");
    const plan = model.layer.gate.gpuPlan?.() ?? null;
    let gate: { problem: string | null; nearTies: number; forgiven: string } | null = null;
    let routing: Routing;
    // The adapter's limit, not the method's fault: the cell is skipped with the sizes named.
    const cpuRouting = plan ? null : model.layer.gate.route({ x: h, tokens: batch, ids }, "eval");
    const k = plan?.k ?? cpuRouting!.k;
    // A plan's capacity (or expert choice's fixed take) bounds the routed rows below the slots.
    const rows = plan ? routeCut(plan, batch, model.shape.experts).maxRows : batch * k;
    const rowBytes = rows * Math.max(model.shape.dim, model.shape.hidden) * 4;
    const limit = ctx.gpu.device.limits.maxStorageBufferBindingSize;
    // The dense mixture routes token by token: its layer runs as slices of tokens that fit.
    if (rowBytes > limit && !routesTokenByToken(plan ?? undefined, batch)) {
      throw new SkipCase(
        `${batch} tokens × ${k} slots need ${rowBytes} bytes of routed rows (${rows} rows) on the GPU; this adapter binds at most ${limit}`,
      );
    }
    if (plan) {
      const layer = await createGpuMoeLayer(ctx.gpu, model.layer, {
        h,
        ids,
        tokens: batch,
        k: plan.k,
        gate: plan,
      });
      const cpu = model.layer.gate.route({ x: h, tokens: batch, ids }, "eval");
      const checked = await checkGpuGate(layer, ctx.gpu.device, {
        plan,
        input: { x: h, ids, tokens: batch, dim: model.shape.dim },
        cpu,
      });
      routing = checked.read.routing;
      gate = { problem: checked.problem, nearTies: checked.nearTies, forgiven: checked.forgiven };
      gpu = { layer, routing, gate };
    } else {
      routing = cpuRouting!;
      const layer = await createGpuMoeLayer(ctx.gpu, model.layer, {
        h,
        tokens: batch,
        k: routing.k,
      });
      layer.setRouting(routing);
      gpu = { layer, routing, gate };
    }
  }
  const gpuTimer = gpu
    ? new TimedSubmit(ctx.gpu!, (encoder) => gpu.layer.encode(encoder), {
      targetSubmitMs: ctx.minSampleMs,
    })
    : null;
  const timer = gpuTimer ?? wallTimer(() => void model.layer.forward(h, batch, ids, "eval"), {
    targetSampleMs: ctx.minSampleMs,
  });
  const { dim } = model.shape;
  return {
    setup: { compileMs: gpu?.layer.compileMs ?? null, uploadMs: gpu?.layer.uploadMs ?? null },
    sample: () => timer.sample(),
    async finish(): Promise<TrialResult> {
      const cpu = gpu ? null : model.layer.forward(h, batch, ids, "eval");
      const routing = gpu?.routing ?? cpu!.routing;
      const y = gpu ? await gpu.layer.readOutput() : cpu!.y;
      let routed = 0;
      for (const e of routing.experts) if (e >= 0) routed++;
      const picked = checkedTokens(
        batch,
        Math.ceil(routed / Math.max(1, batch)) * 2 * model.shape.dim * model.shape.hidden,
      );
      const rows = pickTokens(picked, { h, y, routing, dim: model.shape.dim });
      const ref = moeLayerReference(model.layer, rows.h, rows.routing);
      const { passed: layerPassed, maxAbsError } = compareWithReference(rows.y, ref);
      const checkedLabel = picked.length === batch
        ? spec.batchLabel
        : `${picked.length} evenly spaced of ${spec.batchLabel}`;
      const gateProblem = gpu?.gate?.problem ?? null;
      const passed = layerPassed && gateProblem === null;
      let slots = 0;
      for (const e of routing.experts) if (e >= 0) slots++;
      const macs = layerMacs(model, slots, batch);
      const denseMixtureMacs = batch * (spec.experts * 2 * dim * spec.hidden + dim * spec.experts);
      const ok = passed && spec.problem === null;
      const gateText = gpu?.gate
        ? `, the WGSL gate's routing equals its plain reference and the gate's CPU routing (${gpu.gate.nearTies} token(s) forgiven; forgiven: ${gpu.gate.forgiven})`
        : "";
      const phases = gpu ? await measurePhaseTimes(ctx.gpu!, gpu.layer) : null;
      const gpuMetrics: Record<string, number> = phases
        ? {
          ...phases.metrics,
          phase_times_from_timestamps: phases.clock === "gpu-timestamp" ? 1 : 0,
          gate_on_gpu: gpu!.gate ? 1 : 0,
          ...(gpu!.gate ? { gate_near_ties: gpu!.gate.nearTies } : {}),
        }
        : {};
      // With the gate in the timed passes, routing's share is measured there; a CPU gate's is
      // not in the GPU passes at all, so its estimate stays the CPU's.
      const routingShare = phases && gpu!.gate
        ? phases.metrics.gate_time_share + phases.metrics.permutation_time_share
        : routingTimeShare(model, h, batch, ids);
      return {
        check: {
          passed: ok,
          description: spec.problem
            ? `malformed routing: ${spec.problem}`
            : gateProblem
            ? `the WGSL gate's routing differs from its plain reference: ${gateProblem}`
            : passed
            ? `the MoE layer's output on ${checkedLabel} equals the float64 reference${gateText}, and every evaluated batch's routing is well formed`
            : `the MoE layer's output differs from the float64 reference (max |err| ${
              maxAbsError.toExponential(2)
            })`,
          maxAbsError,
          tolerance: gpu?.gate
            ? `${MOE_TOLERANCE_TEXT}; gate: experts equal except float64-logit near-ties, weights within 1e-5, capacity exact`
            : MOE_TOLERANCE_TEXT,
        },
        metrics: { ...spec.metrics, routing_time_share: routingShare, ...gpuMetrics },
        sparsity: {
          nominalDensity: spec.nominalActive / spec.experts,
          realizedDensity: spec.metrics.active_experts * model.shape.hidden /
            (spec.experts * spec.hidden),
          flopsRatio: macs / denseMixtureMacs,
          // The expert count is part of the kernel: one GEMM over every token (a dense FFN, E=1)
          // is not the work of E smaller GEMMs after a permutation, even at equal FLOPs.
          kernel: `${
            !gpu
              ? "wasm-gemm-per-expert"
              : gpu.gate
              ? "webgpu-gate-grouped-ffn (gate in WGSL, timed in the same submission)"
              : "webgpu-grouped-ffn (gate on the CPU: no WGSL plan for it; untimed)"
          }, ${model.shape.experts} expert(s)`,
        },
        flops: 2 * macs,
        dumps: ctx.dump
          ? [
            { name: "layer_input", shape: [batch, dim], data: h },
            { name: "layer_output", shape: [batch, dim], data: y },
            {
              name: "layer_output_reference",
              shape: [picked.length, dim],
              data: Float32Array.from(ref),
            },
            { name: "checked_tokens", shape: [picked.length], data: Float32Array.from(picked) },
          ]
          : [],
      };
    },
    dispose() {
      gpuTimer?.dispose();
      gpu?.layer.dispose();
    },
  };
}
