// BM25 on WebGPU: a batch of queries scored against the document × term matrix of quantized BM25
// impacts in CSR form, beside the CPU inverted-index path. Integer impacts make GPU and CPU sums
// bit-identical, so the correctness gate compares exactly.
import { compileCompute, createStorage, readBack, uploadStorage } from "../../bench/gpu/buffers.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import {
  analyzerFor,
  BM25_PARAMS,
  bm25Scorer,
  type BuildContext,
  buildPostings,
  type Corpus,
  defaultsOnly,
  defineRetrievalMethod,
  forwardIndex,
  queryTerms,
  type Ranking,
  type RetrievalIndex,
  TopK,
  vocabBytes,
} from "../../bench/families/retrieval/mod.ts";
import type { ParamValuesOf } from "../../bench/metadata.ts";

const CSR_PARAMS = defaultsOnly(BM25_PARAMS);

// WGSL: one invocation per (document, query) merges the document's row with the query's sorted
// terms; documents with a positive score are appended to the query's hit list through an atomic
// counter.
const CSR_WORKGROUP = 64;

const CSR_SCORE_WGSL = /* wgsl */ `
struct Params {
  numDocs: u32,
  numQueries: u32,
  cap: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rowPtr: array<u32>;
@group(0) @binding(2) var<storage, read> colIdx: array<u32>;
@group(0) @binding(3) var<storage, read> vals: array<u32>;
@group(0) @binding(4) var<storage, read> qPtr: array<u32>;
@group(0) @binding(5) var<storage, read> qTerms: array<u32>;
@group(0) @binding(6) var<storage, read> qWeights: array<u32>;
@group(0) @binding(7) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> hits: array<vec2<u32>>;

@compute @workgroup_size(${CSR_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  let q = gid.y;
  if (d >= params.numDocs || q >= params.numQueries) {
    return;
  }
  var i = rowPtr[d];
  let iEnd = rowPtr[d + 1u];
  var j = qPtr[q];
  let jEnd = qPtr[q + 1u];
  var s = 0u;
  loop {
    if (i >= iEnd || j >= jEnd) {
      break;
    }
    let a = colIdx[i];
    let b = qTerms[j];
    if (a == b) {
      s = s + vals[i] * qWeights[j];
      i = i + 1u;
      j = j + 1u;
    } else if (a < b) {
      i = i + 1u;
    } else {
      j = j + 1u;
    }
  }
  if (s > 0u) {
    let slot = atomicAdd(&counts[q], 1u);
    if (slot < params.cap) {
      hits[q * params.cap + slot] = vec2<u32>(d, s);
    }
  }
}
`;

/** Impacts are stored as round(impact · 2^14): integers, so every sum is exact. */
export const IMPACT_SCALE = 1 << 14;
/** Hits kept per query on the GPU; a query with more is answered by the CPU path (counted). */
const HIT_CAP = 8192;

interface QuantizedQuery {
  terms: Int32Array;
  weights: Uint32Array;
}

/** The CSR matrix (rows = documents, columns ascending term ids) of quantized BM25 impacts. */
export interface QuantizedCsr {
  numDocs: number;
  rowPtr: Uint32Array;
  colIdx: Uint32Array;
  vals: Uint32Array;
}

/** The plain CPU reference: every document's integer score from its row, then the top k. */
export function csrReferenceTopK(csr: QuantizedCsr, q: QuantizedQuery, k: number): Ranking {
  const heap = new TopK(k);
  let scored = 0;
  for (let d = 0; d < csr.numDocs; d++) {
    let s = 0;
    let j = 0;
    for (let i = csr.rowPtr[d]; i < csr.rowPtr[d + 1] && j < q.terms.length; i++) {
      while (j < q.terms.length && q.terms[j] < csr.colIdx[i]) j++;
      if (j < q.terms.length && q.terms[j] === csr.colIdx[i]) {
        s += csr.vals[i] * q.weights[j];
        scored++;
      }
    }
    if (s > 0) heap.push(s / IMPACT_SCALE, d);
  }
  return heap.ranking(scored);
}

class GpuCsr {
  readonly #gpu: GpuContext;
  readonly #pipeline: GPUComputePipeline;
  readonly #matrix: GPUBuffer[];
  readonly #params: GPUBuffer;
  readonly numDocs: number;
  readonly compileMs: number;

  private constructor(
    gpu: GpuContext,
    pipeline: GPUComputePipeline,
    csr: QuantizedCsr,
    ms: number,
  ) {
    this.#gpu = gpu;
    this.#pipeline = pipeline;
    this.numDocs = csr.numDocs;
    this.compileMs = ms;
    const d = gpu.device;
    this.#matrix = [
      uploadStorage(d, csr.rowPtr, "csr rowPtr"),
      uploadStorage(d, csr.colIdx, "csr colIdx"),
      uploadStorage(d, csr.vals, "csr vals"),
    ];
    this.#params = d.createBuffer({
      size: 16,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  static async create(gpu: GpuContext, csr: QuantizedCsr): Promise<GpuCsr> {
    const { pipeline, compileMs } = await compileCompute(gpu.device, CSR_SCORE_WGSL, "csr-score");
    return new GpuCsr(gpu, pipeline, csr, compileMs);
  }

  /** Hits (doc, integer score) of each query, or null for a query past the cap. */
  async score(queries: readonly QuantizedQuery[]): Promise<(Uint32Array | null)[]> {
    const d = this.#gpu.device;
    const n = queries.length;
    const qPtr = new Uint32Array(n + 1);
    queries.forEach((q, i) => (qPtr[i + 1] = qPtr[i] + q.terms.length));
    const qTerms = new Uint32Array(Math.max(1, qPtr[n]));
    const qWeights = new Uint32Array(Math.max(1, qPtr[n]));
    queries.forEach((q, i) => {
      qTerms.set(q.terms, qPtr[i]);
      qWeights.set(q.weights, qPtr[i]);
    });
    const cap = Math.min(HIT_CAP, this.numDocs);
    d.queue.writeBuffer(this.#params, 0, Uint32Array.of(this.numDocs, n, cap, 0));
    const buffers = [
      uploadStorage(d, qPtr, "qPtr"),
      uploadStorage(d, qTerms, "qTerms"),
      uploadStorage(d, qWeights, "qWeights"),
      uploadStorage(d, new Uint32Array(n), "counts"),
      createStorage(d, n * cap * 8, "hits"),
    ];
    try {
      const bind = d.createBindGroup({
        layout: this.#pipeline.getBindGroupLayout(0),
        entries: [this.#params, ...this.#matrix, ...buffers].map((buffer, binding) => ({
          binding,
          resource: { buffer },
        })),
      });
      const encoder = d.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(this.#pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(Math.ceil(this.numDocs / CSR_WORKGROUP), n);
      pass.end();
      d.queue.submit([encoder.finish()]);
      const counts = new Uint32Array(await readBack(d, buffers[3], n * 4));
      // Copy each query's used hits into one compact staging buffer: a single read-back.
      const offsets = new Uint32Array(n + 1);
      for (let q = 0; q < n; q++) offsets[q + 1] = offsets[q] + Math.min(counts[q], cap);
      const total = offsets[n];
      const out: (Uint32Array | null)[] = [];
      let all = new Uint32Array(0);
      if (total > 0) {
        const compact = createStorage(d, total * 8, "hits compact");
        const copy = d.createCommandEncoder();
        for (let q = 0; q < n; q++) {
          const used = offsets[q + 1] - offsets[q];
          if (used > 0) {
            copy.copyBufferToBuffer(buffers[4], q * cap * 8, compact, offsets[q] * 8, used * 8);
          }
        }
        d.queue.submit([copy.finish()]);
        all = new Uint32Array(await readBack(d, compact, total * 8));
        compact.destroy();
      }
      for (let q = 0; q < n; q++) {
        out.push(counts[q] > cap ? null : all.subarray(offsets[q] * 2, offsets[q + 1] * 2));
      }
      return out;
    } finally {
      for (const b of buffers) b.destroy();
    }
  }

  get bytes(): number {
    return this.#matrix.reduce((n, b) => n + b.size, 0);
  }

  dispose(): void {
    for (const b of this.#matrix) b.destroy();
    this.#params.destroy();
  }
}

/** Top k of the GPU's hits; the kernel visited every non-zero of the matrix for the query. */
function topKOfHits(hits: Uint32Array, k: number, nonzeros: number): Ranking {
  const heap = new TopK(k);
  for (let i = 0; i < hits.length; i += 2) heap.push(hits[i + 1] / IMPACT_SCALE, hits[i]);
  return heap.ranking(nonzeros);
}

async function buildGpuCsr(
  corpus: Corpus,
  params: ParamValuesOf<typeof CSR_PARAMS>,
  ctx: BuildContext,
): Promise<RetrievalIndex> {
  const analyzer = await analyzerFor(params);
  const postings = buildPostings(corpus, analyzer);
  const scorer = bm25Scorer(postings, params);
  const forward = forwardIndex(postings);
  const vals = new Uint32Array(forward.terms.length);
  for (let d = 0; d < postings.numDocs; d++) {
    for (let i = forward.start[d]; i < forward.start[d + 1]; i++) {
      vals[i] = Math.round(scorer.impact(forward.terms[i], forward.tfs[i], d) * IMPACT_SCALE);
    }
  }
  const csr: QuantizedCsr = {
    numDocs: postings.numDocs,
    rowPtr: Uint32Array.from(forward.start),
    colIdx: Uint32Array.from(forward.terms),
    vals,
  };
  const quantized = (text: string): QuantizedQuery => {
    const q = queryTerms(postings, analyzer, text);
    return { terms: q.terms, weights: Uint32Array.from(q.counts) };
  };
  const gpu = ctx.gpu ? await GpuCsr.create(ctx.gpu, csr) : null;
  let overflow = 0;
  const cpu = (text: string, k: number) => csrReferenceTopK(csr, quantized(text), k);
  const searchBatch = async (texts: readonly string[], k: number): Promise<Ranking[]> => {
    if (!gpu) return texts.map((t) => cpu(t, k));
    const queries = texts.map(quantized);
    const hits = await gpu.score(queries);
    return hits.map((h, i) => {
      if (h) return topKOfHits(h, k, csr.colIdx.length);
      overflow++;
      return csrReferenceTopK(csr, queries[i], k);
    });
  };
  return {
    search: cpu,
    searchBatch,
    reference: {
      description:
        "CPU: every document's integer score from its CSR row (same quantized impacts), then a top-k heap",
      search: cpu,
      maxQueries: 200,
      scoreTolerance: 0,
    },
    sizeBytes: (gpu?.bytes ?? csr.rowPtr.byteLength + csr.colIdx.byteLength + vals.byteLength) +
      vocabBytes(postings.terms),
    stats: {
      get gpu_overflow_queries() {
        return overflow;
      },
      shader_compile_ms: gpu?.compileMs ?? 0,
      analysis_ms: postings.analysisMs,
    },
    config: {
      scorer: "bm25-lucene-idf, impacts quantized to 1/16384",
      analyzer: analyzer.name,
      path: gpu ? "webgpu-csr" : "cpu-reference (no GPU)",
      hitCap: HIT_CAP,
    },
    dispose() {
      gpu?.dispose();
    },
  };
}

export const bm25WebGpuCsr = defineRetrievalMethod({
  id: "bm25-webgpu-csr",
  family: "retrieval",
  title: "BM25, batch scoring on WebGPU (CSR)",
  fidelity: {
    level: "simplified",
    reason:
      "BM25 scored on the GPU with impacts quantized to integers, so scores differ slightly from exact BM25",
  },
  description:
    "A batch of queries scored on the GPU against the document × term matrix of BM25 impacts (quantized to integers) in CSR form: one invocation per (document, query) merges the row with the query's terms; hits are read back and the top k chosen on the CPU.",
  paper: {
    title: "Okapi at TREC-3",
    year: 1994,
    link: "https://trec.nist.gov/pubs/trec3/papers/city.ps.gz",
  },
  version: "1.0.0",
  parameters: CSR_PARAMS,
  capabilities: { requires: ["webgpu"], features: [] },
  notes:
    "Latency is per query of a batch (batch wall time / batch size), including query upload, dispatch, read-back and CPU top-k. Queries matching more than 8,192 documents fall back to the CPU reference and are counted in gpu_overflow_queries.",
  impl: { build: buildGpuCsr },
});
