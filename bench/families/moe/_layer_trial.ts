// The timed part every MoE task shares: a trained model's MoE layer bound as a trial, its forward on
// one batch timed on the CPU (WebAssembly GEMM per expert) or WebGPU (permutation, grouped expert
// FFN, combine), then checked against the float64 reference with the task's quality figures.
import { TimedSubmit } from "../../gpu/timed_submit.ts";
import type { TaskContext, Trial, TrialResult } from "../../plugin.ts";
import { SkipCase } from "../../plugin.ts";
import { wallTimer } from "../../wall_timer.ts";
import { createGpuMoeLayer } from "./_gpu_layer.ts";
import { type MoeMlp, permuteByExpert } from "./_layer.ts";
import { compareWithReference, MOE_TOLERANCE_TEXT, moeLayerReference } from "./_reference.ts";

/** Where the timed layer runs. */
export type MoeEngine = "wasm" | "webgpu";

/** What a task hands over to time and check one method's layer. */
export interface MoeLayerTrialSpec {
  model: MoeMlp;
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
function layerMacs(model: MoeMlp, slots: number, tokens: number): number {
  const { dim, hidden } = model.shape;
  const router = model.layer.gate.parameters().reduce((n, p) => n + p.size, 0);
  return slots * 2 * dim * hidden + tokens * router;
}

/**
 * Share of the layer's time spent in the gate and the permutation by expert: medians of 7 untimed
 * repetitions of each, after the timed rounds (an estimate beside the sampled latency).
 */
function routingTimeShare(model: MoeMlp, h: Float32Array, batch: number, ids: Uint32Array): number {
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
 * Binds a model's MoE layer as a trial: setup (on WebGPU, the gate's routing of the batch is
 * computed on the CPU and uploaded, pipelines compiled) outside timing; `sample()` times the
 * layer's forward; `finish()` checks the output against {@link moeLayerReference} within
 * `MOE_TOLERANCE` and the evaluated stream's routings, and reports the figures, densities
 * (against the task's E experts of width `hidden`) and FLOPs against the dense mixture's.
 *
 * @throws {SkipCase} for the WebGPU engine on a machine without an adapter
 */
export async function bindMoeLayerTrial(spec: MoeLayerTrialSpec): Promise<Trial> {
  const { model, h, ids, batch, ctx } = spec;
  let gpu = null;
  if (spec.engine === "webgpu") {
    if (!ctx.gpu) throw new SkipCase("no WebGPU adapter on this machine");
    const routing = model.layer.gate.route({ x: h, tokens: batch, ids }, "eval");
    const layer = await createGpuMoeLayer(ctx.gpu, model.layer, { h, tokens: batch, k: routing.k });
    layer.setRouting(routing);
    const timer = new TimedSubmit(ctx.gpu, (encoder) => layer.encode(encoder), {
      targetSubmitMs: ctx.minSampleMs,
    });
    gpu = { layer, routing, timer };
  }
  const timer = gpu ? gpu.timer : wallTimer(() => void model.layer.forward(h, batch, ids, "eval"), {
    targetSampleMs: ctx.minSampleMs,
  });
  const { dim } = model.shape;
  return {
    setup: { compileMs: gpu?.layer.compileMs ?? null, uploadMs: gpu?.layer.uploadMs ?? null },
    sample: () => timer.sample(),
    async finish(): Promise<TrialResult> {
      const cpu = model.layer.forward(h, batch, ids, "eval");
      const routing = gpu?.routing ?? cpu.routing;
      const y = gpu ? await gpu.layer.readOutput() : cpu.y;
      const ref = moeLayerReference(model.layer, h, routing);
      const { passed, maxAbsError } = compareWithReference(y, ref);
      let slots = 0;
      for (const e of routing.experts) if (e >= 0) slots++;
      const macs = layerMacs(model, slots, batch);
      const denseMixtureMacs = batch * (spec.experts * 2 * dim * spec.hidden + dim * spec.experts);
      const ok = passed && spec.problem === null;
      return {
        check: {
          passed: ok,
          description: spec.problem
            ? `malformed routing: ${spec.problem}`
            : passed
            ? `the MoE layer's output on ${spec.batchLabel} equals the float64 reference, and every evaluated batch's routing is well formed`
            : `the MoE layer's output differs from the float64 reference (max |err| ${
              maxAbsError.toExponential(2)
            })`,
          maxAbsError,
          tolerance: MOE_TOLERANCE_TEXT,
        },
        metrics: { ...spec.metrics, routing_time_share: routingTimeShare(model, h, batch, ids) },
        sparsity: {
          nominalDensity: spec.nominalActive / spec.experts,
          realizedDensity: spec.metrics.active_experts * model.shape.hidden /
            (spec.experts * spec.hidden),
          flopsRatio: macs / denseMixtureMacs,
          // The expert count is part of the kernel: one GEMM over every token (a dense FFN, E=1)
          // is not the work of E smaller GEMMs after a permutation, even at equal FLOPs.
          kernel: `${
            gpu ? "webgpu-grouped-ffn (gate on the CPU, untimed)" : "wasm-gemm-per-expert"
          }, ${model.shape.experts} expert(s)`,
        },
        flops: 2 * macs,
        dumps: ctx.dump
          ? [
            { name: "layer_input", shape: [batch, dim], data: h },
            { name: "layer_output", shape: [batch, dim], data: y },
            { name: "layer_output_reference", shape: [batch, dim], data: Float32Array.from(ref) },
          ]
          : [],
      };
    },
    dispose() {
      gpu?.timer.dispose();
      gpu?.layer.dispose();
    },
  };
}
