// DHSA, dynamic hierarchical sparse attention: keys are cut into variable-length chunks where
// their content shifts, chunks of queries and keys are summarised by length-normalised sums, and
// each query chunk keeps the keys whose chunk is most similar to it (chunk scores upsampled to
// tokens, then top-k). Selection runs on the GPU each computation (dhsa_kernel.ts) on top of the
// family's key-mask attend pass; the CPU reference below mirrors it in float32. Where chunks end
// is the cosine stand-in's choice or a trained boundary predictor's (dhsa_boundary.ts).
import { createStorage, uploadStorage } from "../../bench/gpu/buffers.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import type { Pass } from "../../bench/gpu/passes.ts";
import {
  assertIterationBounds,
  type AttentionGpuInputs,
  type AttentionInputs,
  type AttentionKernel,
  type AttentionProblem,
  type AttentionShape,
  type CalibrationRecord,
  compilePipeline,
  defineAttentionMethod,
  float32Dot4,
  keepCount,
  otherSelections,
  perInputCache,
  queryCount,
  queryOffset,
  selectedKeys,
  setupKeyMasks,
} from "../../bench/families/attention/mod.ts";
import {
  chunkScanWgsl,
  chunkScoresWgsl,
  DHSA_WORKGROUP,
  dhsaIterations,
  queryChunksWgsl,
  scanSegment,
  upsampleWgsl,
} from "./dhsa_kernel.ts";
import {
  BOUNDARY_WINDOW,
  boundaryIterations,
  boundaryLogits,
  boundaryWgsl,
} from "./dhsa_boundary.ts";

// Chunk scores this close (relatively) at the budget's edge decide nothing reliably across devices.
const TIE_GAP = 1e-4;
// Cut decisions compare two products of float32 sums computed in the same order on both sides;
// they differ at most by rounding a fused multiply-add would change (~1e-7), so a tighter gap.
// (A flipped cut changes every later chunk of the head, so a wide gap would excuse many rows.)
const CUT_GAP = 1e-5;
// A predicted cut compares a logit of ~2·headDim float32 terms (and two cosines, whose sqrt and
// division the GPU need not round correctly) with the threshold's: relative to the terms' size.
const PREDICTED_CUT_GAP = 3e-5;
// The chunk and upsampled key scores of one round of query chunks share scratch buffers this big.
const SCRATCH_BYTES = 64 * 1024 * 1024;

/** DHSA's parameters, as declared below. */
export type DhsaParams = {
  density: number;
  threshold: number;
  minChunk: number;
  maxChunk: number;
};

/**
 * Checks the chunk length bounds against each other.
 *
 * @throws {RangeError} when maxChunk is below minChunk
 */
export function checkChunkBounds(s: DhsaParams): void {
  if (s.maxChunk < s.minChunk) {
    throw new RangeError(
      `Cannot chunk as 'maxChunk' must be at least 'minChunk' (${s.minChunk}): current value is ${s.maxChunk}`,
    );
  }
}

/** Chunks that can exist (starts are at least minChunk apart) and query chunks that can. */
export function chunkSlots(shape: AttentionShape, s: DhsaParams) {
  const maxChunks = Math.ceil(shape.seq / s.minChunk);
  // Query rows span queries positions: at most ⌊(queries − 1)/min⌋ chunk starts inside them,
  // plus the chunk the first row falls in.
  const qChunks = Math.min(maxChunks, Math.floor((queryCount(shape) - 1) / s.minChunk) + 2);
  return { maxChunks, qChunks };
}

/** 1/√n for n = 0 .. size in float32, shared by GPU and CPU so the scaling rounds alike. */
export function invSqrtTable(size: number): Float32Array {
  return Float32Array.from({ length: size + 1 }, (_, n) => (n === 0 ? 0 : 1 / Math.sqrt(n)));
}

const f = Math.fround;

/** Σ_i a[i]·b[i] over d elements from aAt and bAt, in the kernels' float32 order. */
function dot32(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  at: { a: number; b: number },
  d: number,
) {
  return float32Dot4(a, b, { ...at, length: d });
}

/** One head's chunking. */
export interface HeadChunks {
  /** Chunk c spans keys starts[c] .. starts[c + 1] − 1. */
  starts: Int32Array;
  chunkOf: Int32Array;
  /** Per chunk (count × headDim): the sum of its keys / √size, in float32. */
  keyReps: Float32Array;
  /** The first position whose cut decision was within CUT_GAP of the threshold, or Infinity. */
  nearCut: number;
}

/** A trained predictor's boundary logits of one head, and the logit a cut must pass. */
export interface PredictedCuts {
  logits: Float32Array;
  /** Per position, Σ|terms| of its logit: how far rounding can move it. */
  magnitude: Float32Array;
  /** The logit of the probability threshold (float32). */
  cut: number;
}

/** The logit of a boundary probability threshold, as the GPU's uniform holds it. */
export function cutLogit(threshold: number): number {
  return Math.fround(Math.log(threshold / (1 - threshold)));
}

/**
 * The CPU reference of the chunking scan, in the kernel's float32 order: key t starts a new
 * chunk when the current one has maxChunk keys, or has at least minChunk keys and
 * cos(k_t, Σ chunk keys) < threshold (compared as dot·|dot| < t·|t|·|k|²·|Σ|²) — or, with
 * `predicted`, the predictor's logit at t is above the cut's.
 */
export function chunkKeys(
  shape: AttentionShape,
  keys: Float32Array,
  s: DhsaParams,
  head: number,
  predicted?: PredictedCuts,
): HeadChunks {
  const { seq, headDim: d } = shape;
  const base = head * seq * d;
  const invSqrt = invSqrtTable(Math.min(s.maxChunk, seq));
  const thr2 = f(s.threshold * Math.abs(s.threshold));
  const sum = new Float32Array(d);
  const starts = [0];
  const chunkOf = new Int32Array(seq);
  const reps: number[] = [];
  let nearCut = Infinity;
  const close = (len: number) => {
    for (let i = 0; i < d; i++) reps.push(f(sum[i] * invSqrt[len]));
    sum.fill(0);
  };
  for (let t = 0; t < seq; t++) {
    const len = t - starts[starts.length - 1];
    let cut = len >= s.maxChunk;
    if (!cut && len >= s.minChunk && predicted) {
      const logit = predicted.logits[t];
      cut = logit > predicted.cut;
      const gap = PREDICTED_CUT_GAP * Math.max(predicted.magnitude[t], Math.abs(predicted.cut));
      if (Math.abs(logit - predicted.cut) <= gap) nearCut = Math.min(nearCut, t);
    } else if (!cut && len >= s.minChunk) {
      const dot = dot32(keys, sum, { a: base + t * d, b: 0 }, d);
      const kk = dot32(keys, keys, { a: base + t * d, b: base + t * d }, d);
      const ss = dot32(sum, sum, { a: 0, b: 0 }, d);
      const a = f(dot * Math.abs(dot));
      const b = f(thr2 * f(kk * ss));
      cut = a < b;
      if (Math.abs(a - b) <= CUT_GAP * Math.max(Math.abs(a), Math.abs(b))) {
        nearCut = Math.min(nearCut, t);
      }
    }
    if (cut) {
      close(len);
      starts.push(t);
    }
    for (let i = 0; i < d; i++) sum[i] = f(sum[i] + keys[base + t * d + i]);
    chunkOf[t] = starts.length - 1;
  }
  close(seq - starts[starts.length - 1]);
  starts.push(seq);
  return { starts: Int32Array.from(starts), chunkOf, keyReps: Float32Array.from(reps), nearCut };
}

/**
 * Top-`keep` keys when every key of chunk c scores scores[c] (the upsampled importance), ties to
 * the lower key index — so whole chunks are taken best first and the last one from its start —
 * whether the choice hinges on a near-tie of chunk scores at the budget's boundary, and the keys
 * with that near-tie broken the other way (the boundary chunk and its near-tied neighbour in the
 * order swapped).
 */
export function topChunkKeys(
  scores: ArrayLike<number>,
  starts: ArrayLike<number>,
  keep: number,
): { keys: Int32Array; nearTie: boolean; alternatives: Int32Array[] } {
  const order = Array.from({ length: scores.length }, (_, c) => c)
    .sort((a, b) => scores[b] - scores[a] || a - b);
  const near = (a: number, b: number) =>
    a >= 0 && b < order.length &&
    Math.abs(scores[order[a]] - scores[order[b]]) <=
      TIE_GAP * Math.max(Math.abs(scores[order[a]]), Math.abs(scores[order[b]]));
  // Whole chunks in `ranking` order until `keep` keys; the place of the boundary chunk.
  const takeIn = (ranking: number[]) => {
    const keys: number[] = [];
    let boundary = -1;
    let partial = false;
    for (let n = 0; n < ranking.length && keys.length < keep; n++) {
      const c = ranking[n];
      const take = Math.min(starts[c + 1] - starts[c], keep - keys.length);
      for (let j = starts[c]; j < starts[c] + take; j++) keys.push(j);
      if (keys.length === keep) [boundary, partial] = [n, take < starts[c + 1] - starts[c]];
    }
    return { keys: Int32Array.from(keys).sort(), boundary, partial };
  };
  const { keys, boundary: n, partial } = takeIn(order);
  const swapped = (a: number, b: number) => {
    const ranking = [...order];
    [ranking[a], ranking[b]] = [ranking[b], ranking[a]];
    return takeIn(ranking).keys;
  };
  const alternatives: Int32Array[] = [];
  if (n >= 0 && near(n, n + 1)) alternatives.push(swapped(n, n + 1));
  if (n >= 0 && partial && near(n - 1, n)) alternatives.push(swapped(n - 1, n));
  return { keys, nearTie: alternatives.length > 0, alternatives };
}

/** One query chunk's reference selection. */
export interface QueryChunkSelection {
  keys: Int32Array;
  nearTie: boolean;
  /** `keys` with a near-tie of chunk scores broken the other way. */
  alternatives: Int32Array[];
  /** The query chunk's index among the head's chunks. */
  chunk: number;
}

/** The CPU reference of passes 2–4 and the top-k for query chunk `qc` of `head`. */
export function selectForQueryChunk(
  problem: AttentionProblem<AttentionInputs, DhsaParams>,
  at: { chunks: HeadChunks; head: number; qc: number },
): QueryChunkSelection {
  const { shape, inputs, params: s } = problem;
  const { chunks, head, qc } = at;
  const d = shape.headDim;
  const queries = queryCount(shape);
  const offset = queryOffset(shape);
  const chunk = chunks.chunkOf[offset] + qc;
  const first = Math.max(chunks.starts[chunk], offset);
  const end = chunks.starts[chunk + 1];
  const sum = new Float32Array(d);
  for (let pos = first; pos < end; pos++) {
    const at = (head * queries + pos - offset) * d;
    for (let i = 0; i < d; i++) sum[i] = f(sum[i] + inputs.q[at + i]);
  }
  const scale = invSqrtTable(Math.min(s.maxChunk, shape.seq))[end - first];
  const rep = sum.map((x) => f(x * scale));
  const visibleChunks = shape.causal ? chunk + 1 : chunks.starts.length - 1;
  const scores = Float32Array.from(
    { length: visibleChunks },
    (_, kc) => dot32(rep, chunks.keyReps, { a: 0, b: kc * d }, d),
  );
  const visible = shape.causal ? end : shape.seq;
  return { ...topChunkKeys(scores, chunks.starts, keepCount(visible, s.density)), chunk };
}

/** A trained boundary predictor's weights (heads × features), or null for the cosine stand-in. */
export type BoundaryWeights = { weights: Float32Array; record: CalibrationRecord } | null;

/** Where a DHSA variant's chunks end, for a problem: its predictor, or null (the stand-in). */
export type BoundarySource = (problem: AttentionProblem<unknown, DhsaParams>) => BoundaryWeights;

const cachedChunks = perInputCache<HeadChunks>();
const cachedSelection = perInputCache<QueryChunkSelection>();
const weightIds = new WeakMap<Float32Array, number>();
let nextWeightId = 0;

/** Names a predictor's weights in cache keys ("cosine" for the stand-in). */
function predictorKey(predictor: BoundaryWeights): string {
  if (!predictor) return "cosine";
  let id = weightIds.get(predictor.weights);
  if (id === undefined) weightIds.set(predictor.weights, id = nextWeightId++);
  return `predictor ${id}`;
}

function settingsKey(shape: AttentionShape, s: DhsaParams, predictor: BoundaryWeights): string {
  return `${JSON.stringify(shape)}|${s.density}|${s.threshold}|${s.minChunk}|${s.maxChunk}|${
    predictorKey(predictor)
  }`;
}

function chunksOf(
  problem: AttentionProblem<AttentionInputs, DhsaParams>,
  head: number,
  predictor: BoundaryWeights,
) {
  const { shape, inputs, params: s } = problem;
  return cachedChunks(
    inputs,
    `${shape.heads}|${shape.seq}|${shape.headDim}|${s.threshold}|${s.minChunk}|${s.maxChunk}|${head}|${
      predictorKey(predictor)
    }`,
    () =>
      chunkKeys(
        shape,
        inputs.k,
        s,
        head,
        predictor
          ? {
            ...boundaryLogits(shape, inputs, { weights: predictor.weights, head }),
            cut: cutLogit(s.threshold),
          }
          : undefined,
      ),
  );
}

/** The row's chunking and its query chunk's selection (computed once per query chunk). */
function rowSelection(
  problem: AttentionProblem<AttentionInputs, DhsaParams>,
  at: { head: number; row: number; predictor: BoundaryWeights },
): { chunks: HeadChunks; selection: QueryChunkSelection } {
  const { shape, inputs, params: s } = problem;
  const { head, row, predictor } = at;
  checkChunkBounds(s);
  const chunks = chunksOf(problem, head, predictor);
  const pos = queryOffset(shape) + row;
  const qc = chunks.chunkOf[pos] - chunks.chunkOf[queryOffset(shape)];
  const selection = cachedSelection(
    inputs,
    `${settingsKey(shape, s, predictor)}|${head}|${qc}`,
    () => selectForQueryChunk(problem, { chunks, head, qc }),
  );
  return { chunks, selection };
}

/**
 * Sets DHSA up on the GPU: the chunking, scoring and upsampling passes, topkPass per round of
 * query chunks whose key scores fit `scratchBytes`, then the shared attend pass; with a
 * `predictor`, its boundary pass first and a scan that cuts where the predictor's logit says.
 */
export async function setupDhsa(
  gpu: GpuContext,
  options: AttentionProblem<AttentionGpuInputs, DhsaParams> & {
    scratchBytes?: number;
    predictor?: BoundaryWeights;
  },
): Promise<AttentionKernel> {
  const { shape, inputs, params: s, scratchBytes = SCRATCH_BYTES, predictor = null } = options;
  checkChunkBounds(s);
  const { device } = gpu;
  const { maxChunks, qChunks } = chunkSlots(shape, s);
  const queries = queryCount(shape);
  const slots = shape.heads * qChunks;
  // Query-chunk slots whose key scores fit the scratch buffer (one at least); chunk scores are
  // fewer (maxChunks ≤ seq per slot).
  const roundSlots = Math.min(
    slots,
    65535,
    Math.max(
      1,
      Math.floor(
        Math.min(scratchBytes, device.limits.maxStorageBufferBindingSize) / (shape.seq * 4),
      ),
    ),
  );
  const kernel = await setupKeyMasks(gpu, {
    shape,
    inputs,
    groups: shape.heads * qChunks,
    window: 0,
    async build({ layout, rowGroup, bind, topkPass }) {
      const heads = shape.heads;
      const created: GPUBuffer[] = [];
      const storage = (bytes: number, label: string) => {
        const b = createStorage(device, bytes, label);
        created.push(b);
        return b;
      };
      const table = invSqrtTable(Math.min(s.maxChunk, shape.seq));
      const invSqrt = uploadStorage(device, table, "dhsa-inv-sqrt");
      created.push(invSqrt);
      // With a predictor, the scan reads the boundary logits and the 1/√n table (after them) from
      // one buffer.
      let scanTable = invSqrt;
      if (predictor) {
        const joined = new Float32Array(heads * shape.seq + table.length);
        joined.set(table, heads * shape.seq);
        scanTable = uploadStorage(device, joined, "dhsa-inv-sqrt-logits");
        created.push(scanTable);
      }
      const chunkOf = storage(heads * shape.seq * 4, "dhsa-chunk-of");
      const chunkStart = storage(heads * (maxChunks + 1) * 4, "dhsa-chunk-start");
      const chunkCount = storage(heads * 4, "dhsa-chunk-count");
      const krep = storage(heads * maxChunks * shape.headDim * 4, "dhsa-key-reps");
      const qrep = storage(heads * qChunks * shape.headDim * 4, "dhsa-query-reps");
      const qInfo = storage(heads * qChunks * 8, "dhsa-query-chunks");
      const chunkScores = storage(roundSlots * maxChunks * 4, "dhsa-chunk-scores");
      const tokenScores = storage(roundSlots * shape.seq * 4, "dhsa-token-scores");
      const keeps = storage(roundSlots * 4, "dhsa-keeps");
      const scanSum = storage(heads * shape.headDim * 4, "dhsa-scan-sum");
      const scanAt = storage(heads * 8, "dhsa-scan-at");
      const uploadUniform = (data: ArrayBufferView<ArrayBuffer>) => {
        const u = device.createBuffer({
          size: data.byteLength,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        });
        device.queue.writeBuffer(u, 0, data);
        created.push(u);
        return u;
      };
      const uniformFor = (slot0: number, count: number) => {
        const view = new DataView(new ArrayBuffer(48));
        [shape.seq, heads, shape.causal ? 1 : 0, queries, maxChunks, qChunks, s.minChunk]
          .forEach((x, i) => view.setUint32(i * 4, x, true));
        view.setUint32(28, s.maxChunk, true);
        view.setFloat32(
          32,
          predictor ? cutLogit(s.threshold) : s.threshold * Math.abs(s.threshold),
          true,
        );
        view.setFloat32(36, s.density, true);
        view.setUint32(40, slot0, true);
        view.setUint32(44, count, true);
        return uploadUniform(view);
      };
      const uniforms = uniformFor(0, slots);
      const [scan, query, score, upsample, boundary] = await Promise.all([
        compilePipeline(
          device,
          chunkScanWgsl(shape.headDim, predictor !== null),
          "dhsa-chunk-scan",
        ),
        compilePipeline(device, queryChunksWgsl(shape.headDim), "dhsa-query-chunks"),
        compilePipeline(device, chunkScoresWgsl(shape.headDim), "dhsa-chunk-scores"),
        compilePipeline(device, upsampleWgsl(), "dhsa-upsample"),
        predictor
          ? compilePipeline(
            device,
            boundaryWgsl(shape.headDim, DHSA_WORKGROUP),
            "dhsa-boundary",
          )
          : null,
      ]);
      const wg = (n: number) => Math.ceil(n / DHSA_WORKGROUP);
      // The chunking scan, one dispatch per segment of keys (see scanSegment).
      const passes: Pass[] = [];
      const segment = scanSegment(shape.headDim);
      assertIterationBounds({
        ...dhsaIterations(shape.headDim, { segment, maxChunk: s.maxChunk }),
        ...(predictor ? { "dhsa-boundary": boundaryIterations(shape.headDim) } : {}),
      });
      // The predictor's logit at every position, before the scan reads them.
      if (predictor && boundary) {
        const weights = uploadStorage(device, predictor.weights, "dhsa-boundary-weights");
        created.push(weights);
        passes.push([
          boundary.pipeline,
          bind(boundary.pipeline, [inputs.k, weights, scanTable, uniforms]),
          [wg(shape.seq), heads, 1],
        ]);
      }
      for (let first = 0; first < shape.seq; first += segment) {
        const seg = uploadUniform(
          new Uint32Array([first, Math.min(shape.seq, first + segment), 0, 0]),
        );
        passes.push([
          scan.pipeline,
          bind(scan.pipeline, [
            inputs.k,
            scanTable,
            chunkOf,
            chunkStart,
            chunkCount,
            krep,
            scanSum,
            scanAt,
            uniforms,
            seg,
          ]),
          [wg(heads), 1, 1],
        ]);
      }
      passes.push(
        [
          query.pipeline,
          bind(query.pipeline, [
            inputs.q,
            invSqrt,
            chunkOf,
            chunkStart,
            chunkCount,
            qrep,
            qInfo,
            rowGroup,
            uniforms,
          ]),
          [wg(qChunks), heads, shape.headDim / 4],
        ],
      );
      const topkBuffers: GPUBuffer[] = [];
      let topkMs = 0;
      for (let slot0 = 0; slot0 < slots; slot0 += roundSlots) {
        const count = Math.min(roundSlots, slots - slot0);
        const u = uniformFor(slot0, count);
        passes.push([
          score.pipeline,
          bind(score.pipeline, [qrep, krep, chunkCount, qInfo, chunkScores, u]),
          [wg(maxChunks), count, 1],
        ], [
          upsample.pipeline,
          bind(upsample.pipeline, [chunkOf, qInfo, chunkScores, tokenScores, keeps, u]),
          [wg(shape.seq), count, 1],
        ]);
        const topk = await topkPass({
          scores: tokenScores,
          keeps,
          segments: count,
          len: shape.seq,
          stride: shape.seq,
          section: layout.groupAt(slot0),
        });
        passes.push(...topk.passes);
        topkBuffers.push(...topk.buffers);
        topkMs = Math.max(topkMs, topk.compileMs);
      }
      const d = shape.headDim;
      const chunkPairs = shape.causal && queries === shape.seq
        ? (maxChunks * (maxChunks + 1)) / 2
        : qChunks * maxChunks;
      return {
        passes,
        compileMs: scan.compileMs + query.compileMs + score.compileMs + upsample.compileMs +
          topkMs + (boundary?.compileMs ?? 0),
        buffers: [...created, ...topkBuffers],
        extraFlops: heads *
          // The scan: a cosine and an add per key element, or (trained) the predictor's window
          // sums (2 per window key element) and ~19 operations per element for its features,
          // products and logit, plus the scan's add.
          ((predictor ? 2 * BOUNDARY_WINDOW + 19 : 7) * shape.seq * d + 2 * queries * d +
            2 * d * chunkPairs +
            6 * qChunks * shape.seq),
      };
    },
  });
  if (predictor) kernel.calibration = predictor.record;
  return kernel;
}

/** What one DHSA row declares: its id and words, its threshold's meaning, where cuts come from. */
export interface DhsaVariant {
  id: string;
  title: string;
  fidelity: { level: "faithful" | "simplified" | "stand-in"; reason: string };
  version: string;
  description: string;
  notes: string;
  threshold: { description: string; default: number; min: number; max: number };
  /** The variant's boundary predictor for a problem (trained at setup), or null: the cosine. */
  boundary: BoundarySource;
}

/** A DHSA method: the chunk scoring and top-k below, its chunks ended as `variant` says. */
export function defineDhsa(variant: DhsaVariant) {
  const { boundary } = variant;
  const at = (problem: AttentionProblem<AttentionInputs, DhsaParams>, head: number, row: number) =>
    rowSelection(problem, { head, row, predictor: boundary(problem) });
  return defineAttentionMethod({
    id: variant.id,
    family: "attention",
    title: variant.title,
    fidelity: variant.fidelity,
    description: variant.description,
    paper: {
      title: "Long-Context Modeling with Dynamic Hierarchical Sparse Attention for On-Device LLMs",
      year: 2025,
      link: "https://arxiv.org/abs/2510.24606",
    },
    version: variant.version,
    parameters: {
      density: {
        type: "number",
        description: "share of the keys visible to a query chunk that it keeps",
        default: 0.1,
        min: 0.001,
        max: 1,
        sweep: [0.05, 0.1, 0.2],
      },
      threshold: { type: "number", ...variant.threshold, sweep: [variant.threshold.default] },
      minChunk: {
        type: "int",
        description: "fewest keys in a chunk (except the sequence's last)",
        default: 8,
        min: 1,
        max: 1024,
        sweep: [8],
      },
      maxChunk: {
        type: "int",
        description: "most keys in a chunk; at least minChunk",
        default: 32,
        min: 1,
        max: 4096,
        sweep: [32],
      },
    },
    capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
    notes: variant.notes,
    impl: {
      budgetKnob: { param: "density", direction: "increasing" },
      // A trained predictor is fitted here, outside timing (or already, by the CPU reference).
      setup: (gpu, problem) => setupDhsa(gpu, { ...problem, predictor: boundary(problem) }),
      selectKeys(problem, head, row) {
        return selectedKeys(problem.shape, row, { group: at(problem, head, row).selection.keys });
      },
      // The boundary chunks' near-tie broken the other way; a near cut, which changes the
      // chunking itself, is not followed (such rows stay excused).
      tieAlternatives(problem, head, row) {
        const { selection } = at(problem, head, row);
        return otherSelections(
          selectedKeys(problem.shape, row, { group: selection.keys }),
          selection.alternatives.map((group) => selectedKeys(problem.shape, row, { group })),
        );
      },
      ambiguousRow(problem, head, row) {
        const { shape } = problem;
        const { chunks, selection } = at(problem, head, row);
        if (selection.nearTie) return true;
        if (chunks.nearCut === Infinity) return false;
        // A flipped cut at t changes the chunk holding t − 1 and every later one; causal rows of
        // earlier chunks see only unchanged chunks.
        if (!shape.causal) return true;
        const pos = queryOffset(shape) + row;
        return pos >= chunks.starts[chunks.chunkOf[chunks.nearCut - 1]];
      },
      nominalDensity: (_shape, params) => params.density,
    },
  });
}

export const dhsaAttention = defineDhsa({
  id: "dhsa-attention",
  title: "DHSA (cosine-threshold boundary stand-in)",
  fidelity: {
    level: "stand-in",
    reason:
      "DHSA's learned boundary predictor is replaced by a cosine-similarity threshold; chunk scoring and top-k follow the paper",
  },
  version: "1.0.0",
  description:
    "Keys are cut into variable-length chunks where a key's cosine similarity with its chunk drops below a threshold; query and key chunks are summarised by their sums / √size; each query chunk keeps the `density` share of its visible keys whose chunk scores highest against it (chunk scores upsampled to keys, top-k).",
  notes:
    "Training-free stand-in for DHSA's learned boundary predictor: per head, one GPU invocation scans the keys (in dispatches of a few hundred keys, the scan's state kept in a buffer between them, since llvmpipe silently ends an invocation's loops after 65,535 iterations) and starts a new chunk at key t when the current chunk has maxChunk keys, or has at least minChunk keys and cos(k_t, sum of the chunk's keys) < threshold (the paper's predictor is a small trained network, whose labels came from similarity shifts between consecutive keys). " +
    "Query chunks use the key chunking (query rows of the same positions); a decoding query chunk's representation sums only the query rows present. Chunk representations are sum/√size (the paper's √size-scaled mean); chunk similarity is q̃·k̃; every key inherits its chunk's score; each query chunk (not each query row — the rows of a chunk share one upsampled score row in the paper as well) keeps the top round(density·visible) keys, visible meaning keys up to the chunk's last position when causal. Keys of one chunk tie, so ties go to the lower index: whole chunks are taken best first and the chunk at the budget's edge contributes its first keys. No local window or sink is forced; a causal row always sees at least one chosen key. " +
    "Rows are excused as near-ties when a cut decision of their head (before their chunk, when causal) is within 1e-5 of the threshold, or the chunk scores at their budget's edge are within 1e-4, relatively. extraFlops counts the scan, the representations, an upper bound on the chunk-pair scores (chunk counts are only known on the GPU) and 6 comparisons per key per query chunk for upsampling and the radix top-k. " +
    "The query side's 1/√rows scales a query chunk's whole score row, so only the key side's normalisation changes which keys are kept. " +
    "On the synthetic heads (a smoothly drifting context, no real segment boundaries) these dynamic chunks did about as well as fixed chunks of the same mean length, not better; on needle-retrieval's word-vector keys nearly every decision cuts, so chunks are minChunk long. " +
    "Selection costs O(seq²/minChunk) comparisons, small beside attention at these densities, so the speed-up follows the realized density. " +
    "dhsa-trained-attention is the same method with the boundaries of a predictor trained on held-out inputs (see its notes).",
  threshold: {
    description:
      "a chunk ends before a key whose cosine similarity with the chunk's key sum is below this",
    default: 0.6,
    min: -1,
    max: 1,
  },
  boundary: () => null,
});
