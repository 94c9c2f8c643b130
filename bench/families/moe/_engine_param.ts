// The `engine` parameter every MoE task with a trained or seeded layer declares: where its timed
// layer runs. One spec, so the tasks describe the WebGPU path the same way as it changes.
import type { ParamSpec } from "../../metadata.ts";

/** The MoE tasks' `engine` parameter. */
export const MOE_ENGINE_PARAM = {
  type: "enum" as const,
  description:
    "where the timed layer runs: the CPU (gate, permutation, one WebAssembly GEMM pair per expert, combine) or WebGPU (gate, permutation, grouped expert FFN and combine in WGSL for the gates with a WGSL plan — switch, topk-softmax, dense-mixture; the others' routing computed on the CPU and uploaded before the timed passes, as their kernel label says)",
  values: ["wasm", "webgpu"],
  default: "wasm",
  sweep: ["wasm", "webgpu"],
} satisfies ParamSpec;
