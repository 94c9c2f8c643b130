// Dense attention run by onnxruntime-web, the library a JavaScript user would reach for instead:
// the same graph on its wasm backend (2 threads) and on its WebGPU execution provider. Peers in
// the same table, timed by wall clock per full computation, inputs passed as host tensors.
// Two builds of the library: its Node build runs the wasm backend with worker threads under Deno;
// the WebGPU build's threads need blob-URL workers, which Deno refuses, so it runs on one thread
// (its wasm side only schedules the GPU work). In the runner page the bundler puts the package's
// browser builds in their place (web/build.ts), whose files bench/nn/ort.ts's ortReady supplies.
import * as ortNode from "onnxruntime-web";
import * as ortWebgpu from "onnxruntime-web/webgpu";
import { readBack } from "../../bench/gpu/buffers.ts";
import { ortReady } from "../../bench/nn/ort.ts";
import type { Method } from "../../bench/metadata.ts";
import {
  attentionFlops,
  type AttentionMethod,
  type AttentionShape,
  defineAttentionMethod,
  denseKeys,
  densePairsPerHead,
  queryCount,
  queryOffset,
} from "../../bench/families/attention/mod.ts";
import { denseAttentionOnnx } from "./ort_dense_graph.ts";

// One chunk's scores (heads × chunk × seq floats) must fit a WebGPU storage binding (128 MiB)
// and stay modest in wasm memory.
const SCORE_BYTES = 64 * 1024 * 1024;
const MASKED = -1e9;

/** Query rows per session run for `shape`. */
export function queryChunk(shape: AttentionShape): number {
  return Math.max(
    1,
    Math.min(queryCount(shape), Math.floor(SCORE_BYTES / (shape.heads * shape.seq * 4))),
  );
}

function ortMethod(provider: "wasm" | "webgpu"): Method<AttentionMethod> {
  return defineAttentionMethod({
    id: `ort-${provider}-dense-attention`,
    family: "attention",
    title: `Dense attention, onnxruntime-web ${
      provider === "wasm" ? "wasm (2 threads)" : "WebGPU EP"
    }`,
    fidelity: {
      level: "peer",
      reason:
        "onnxruntime-web's dense attention graph on its own execution provider, run as a plain user would",
    },
    description:
      `Peer: an ONNX graph (MatMul, Softmax, MatMul with scale and mask) run by onnxruntime-web 1.30.0 on its ${provider} execution provider, query rows in chunks so scores fit memory.`,
    paper: {
      title: "ONNX Runtime Web",
      year: 2021,
      link: "https://onnxruntime.ai/docs/tutorials/web/",
    },
    version: "1.0.0",
    parameters: {},
    capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
    notes:
      "Scores every key and masks the future ones, so causal work is the full square (its FLOPs ratio shows it). Inputs are host tensors uploaded on every run, as a plain user of the library would pass them; wall-clock timing, so speed-ups compare wall times.",
    impl: {
      async setup(gpu, { shape, inputs }) {
        const { heads, seq, headDim: d } = shape;
        const queries = queryCount(shape);
        const offset = queryOffset(shape);
        const n = heads * queries * d;
        const [q, k, v] = await Promise.all(
          [[inputs.q, n], [inputs.k, heads * seq * d], [inputs.v, heads * seq * d]].map(async (
            [b, count],
          ) => new Float32Array(await readBack(gpu.device, b as GPUBuffer, (count as number) * 4))),
        );
        const chunk = queryChunk(shape);
        const chunks = Math.ceil(queries / chunk);
        const ort = provider === "wasm" ? ortNode : ortWebgpu;
        ort.env.wasm.numThreads = provider === "wasm" ? 2 : 1;
        await ortReady(ort.env, provider);
        const start = performance.now();
        const session = await ort.InferenceSession.create(
          denseAttentionOnnx(heads, chunk, seq, d),
          {
            executionProviders: [provider],
            // Idle worker threads must not spin between runs: they would steal the cores the
            // other methods of the case are timed on.
            extra: {
              session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } },
            },
          },
        );
        const compileMs = performance.now() - start;
        const kTensor = new ort.Tensor("float32", k, [heads, seq, d]);
        const vTensor = new ort.Tensor("float32", v, [heads, seq, d]);
        // Query chunks (zero-padded at the end) and their masks, prepared outside the timed runs.
        const feeds = Array.from({ length: chunks }, (_, c) => {
          const qChunk = new Float32Array(heads * chunk * d);
          const rows = Math.min(chunk, queries - c * chunk);
          for (let h = 0; h < heads; h++) {
            qChunk.set(
              q.subarray((h * queries + c * chunk) * d, (h * queries + c * chunk + rows) * d),
              h * chunk * d,
            );
          }
          const mask = new Float32Array(chunk * seq);
          if (shape.causal) {
            for (let r = 0; r < chunk; r++) {
              mask.fill(MASKED, r * seq + Math.min(seq, offset + c * chunk + r + 1), (r + 1) * seq);
            }
          }
          return {
            q: new ort.Tensor("float32", qChunk, [heads, chunk, d]),
            k: kTensor,
            v: vTensor,
            mask: new ort.Tensor("float32", mask, [chunk, seq]),
          };
        });
        const result = new Float32Array(n);
        const output = gpu.device.createBuffer({
          size: n * 4,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        });
        const visited = gpu.device.createBuffer({
          size: Math.max(16, heads * queries * 4),
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        });
        const keys = Uint32Array.from(
          { length: heads * queries },
          (_, i) => denseKeys(shape, i % queries).length,
        );
        return {
          encode() {
            throw new Error("onnxruntime-web runs by itself: use run()");
          },
          async run() {
            for (let c = 0; c < chunks; c++) {
              const out = await session.run(feeds[c]);
              const o = out.o.data as Float32Array;
              const rows = Math.min(chunk, queries - c * chunk);
              for (let h = 0; h < heads; h++) {
                result.set(
                  o.subarray(h * chunk * d, (h * chunk + rows) * d),
                  (h * queries + c * chunk) * d,
                );
              }
              out.o.dispose();
            }
          },
          finalize() {
            gpu.device.queue.writeBuffer(output, 0, result);
            gpu.device.queue.writeBuffer(visited, 0, keys);
            return gpu.device.queue.onSubmittedWorkDone();
          },
          output,
          visited,
          compileMs,
          // The masked (future) scores are computed too: the full square minus what is counted.
          extraFlops: attentionFlops(heads * (chunks * chunk * seq - densePairsPerHead(shape)), d),
          dispose() {
            output.destroy();
            visited.destroy();
            session.release();
          },
        };
      },
      selectKeys: ({ shape }, _head, row) => denseKeys(shape, row),
      nominalDensity: () => 1,
    },
  });
}

export const ortWasmDenseAttention = ortMethod("wasm");
export const ortWebgpuDenseAttention = ortMethod("webgpu");
