// A peer library on the crossover task: onnxruntime-web's dense MatMul of the masked weight.
import { defineSpmmMethod } from "../../bench/families/pruning/mod.ts";

export const spmmOnnxruntime = defineSpmmMethod({
  id: "spmm-onnxruntime",
  family: "pruning",
  title: "onnxruntime-web MatMul (dense, wasm)",
  fidelity: {
    level: "peer",
    reason: "onnxruntime-web's dense MatMul on wasm, run as a plain user would",
  },
  description:
    "y = x·Wᵀ as a one-node ONNX graph (MatMul with Wᵀ of the masked weight as an initializer) on onnxruntime-web's wasm backend, one thread, timed by wall clock around session.run: what a production dense kernel does with the same zeros. Runs on the wasm engine's cases only.",
  paper: {
    title: "ONNX Runtime: cross-platform, high performance ML inferencing and training accelerator",
    year: 2018,
    link: "https://onnxruntime.ai/",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["spmm"] },
  notes:
    "A peer library, not a paper's method. Its webgpu execution provider is not run: the webgpu cases skip it.",
  impl: { kernel: "onnxruntime" },
});
