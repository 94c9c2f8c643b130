// MInference's vertical-slash attention: per head, the last queries' softmax over all keys is
// summed per key column and per diagonal; the top columns (vertical lines: sinks, globally
// important tokens) and top diagonals (slash lines: local and periodic offsets) form one
// pattern every query row of the head attends to.
import { createStorage, uploadStorage } from "../../bench/gpu/buffers.ts";
import type { Pass } from "../../bench/gpu/passes.ts";
import {
  assertIterationBounds,
  type AttentionInputs,
  type AttentionShape,
  compilePipeline,
  defineAttentionMethod,
  densePairsPerHead,
  float32Dot4,
  MASKS_WORKGROUP,
  otherSelections,
  perInputCache,
  queryCount,
  queryOffset,
  selectedKeys,
  setupKeyMasks,
  topBoundaryIsNearTie,
  topIndices,
  topIndicesAlternatives,
} from "../../bench/families/attention/mod.ts";
import {
  estimateIterations,
  estimateLogitsWgsl,
  estimateLseWgsl,
  estimateSumsWgsl,
} from "./vertical_slash_kernel.ts";

// Scores this close (relatively) to the last one kept are a near-tie: the GPU's exp and log
// differ from the CPU's in the last bits, and its sums may contract multiply-adds.
const TIE_GAP = 1e-4;
const FORCED = 3.0e38;
const FLOOR = -3.0e38;

/** Vertical-slash's parameters, as declared below. */
export type VerticalSlashParams = {
  density: number;
  verticalShare: number;
  lastQueries: number;
  window: number;
  sinks: number;
};

/** How a budget splits into columns and diagonals, for one shape. */
export interface VerticalSlashSplit {
  /** Estimation rows: the last `last` query rows. */
  last: number;
  /** Columns kept per head (the forced sinks among them). */
  verticals: number;
  /** Leading columns always kept (MInference keeps the first 30 of 128k). */
  sinks: number;
  /** Local window: offsets 0 .. window − 1, always kept (MInference keeps the last 100). */
  window: number;
  /** Diagonals kept beyond the window. */
  slashes: number;
}

/**
 * The split of a `density` budget: B = round(density · mean visible keys per row) keys per row,
 * `verticalShare` of them columns and the rest diagonals, the local window counted among the
 * diagonals (at least the window is kept even when B is smaller).
 */
export function verticalSlashSplit(
  shape: AttentionShape,
  params: VerticalSlashParams,
): VerticalSlashSplit {
  const queries = queryCount(shape);
  const budget = Math.max(1, Math.round(params.density * densePairsPerHead(shape) / queries));
  const verticals = Math.min(shape.seq, Math.round(budget * params.verticalShare));
  const window = Math.min(shape.seq, params.window);
  const diagonals = Math.min(shape.seq, Math.max(window, budget - verticals));
  return {
    last: Math.min(queries, params.lastQueries),
    verticals,
    sinks: Math.min(verticals, params.sinks),
    window,
    slashes: diagonals - window,
  };
}

/**
 * The estimate of one head in float32, in the kernel's order of operations: the raw vertical
 * and slash sums (before forcing the sinks and the window).
 */
export function estimateSums(
  shape: AttentionShape,
  inputs: AttentionInputs,
  last: number,
  head: number,
): { columns: Float32Array; slashes: Float32Array } {
  const f = Math.fround;
  const { seq, headDim: d } = shape;
  const queries = queryCount(shape);
  const scale = f(1 / Math.sqrt(d));
  const logits = Array.from({ length: last }, (_, r) => {
    const pos = seq - last + r;
    const qOff = (head * queries + queries - last + r) * d;
    const qs = Float32Array.from({ length: d }, (_, i) => f(inputs.q[qOff + i] * scale));
    const row = new Float32Array(seq).fill(FLOOR);
    for (let j = 0; j < (shape.causal ? pos + 1 : seq); j++) {
      row[j] = float32Dot4(qs, inputs.k, { a: 0, b: (head * seq + j) * d, length: d });
    }
    return row;
  });
  const lse = logits.map((row, r) => {
    const visible = shape.causal ? seq - last + r + 1 : seq;
    let m = FLOOR;
    for (let j = 0; j < visible; j++) m = Math.max(m, row[j]);
    let sum = 0;
    for (let j = 0; j < visible; j++) sum = f(sum + f(Math.exp(f(row[j] - m))));
    return f(m + f(Math.log(sum)));
  });
  const columns = new Float32Array(seq);
  const slashes = new Float32Array(seq);
  for (let i = 0; i < seq; i++) {
    let column = 0;
    let slash = 0;
    for (let r = 0; r < last; r++) {
      const s = logits[r][i];
      if (s > -1e38) column = f(column + f(Math.exp(f(s - lse[r]))));
      const pos = seq - last + r;
      if (i <= pos) slash = f(slash + f(Math.exp(f(logits[r][pos - i] - lse[r]))));
    }
    columns[i] = column;
    slashes[i] = slash;
  }
  return { columns, slashes };
}

const cachedSums = perInputCache<{ columns: Float32Array; slashes: Float32Array }>();

/** One head's scores as the top-k passes see them: sinks forced in, window offsets out. */
export function headScores(
  shape: AttentionShape,
  inputs: AttentionInputs,
  s: VerticalSlashSplit,
  head: number,
): { columns: Float32Array; slashes: Float32Array } {
  const raw = cachedSums(
    inputs,
    `${JSON.stringify(shape)}|${s.last}|${head}`,
    () => estimateSums(shape, inputs, s.last, head),
  );
  const columns = raw.columns.slice();
  const slashes = raw.slashes.slice();
  columns.fill(FORCED, 0, s.sinks);
  slashes.fill(FLOOR, 0, s.window);
  return { columns, slashes };
}

/** The chosen columns and diagonals of one head (the CPU reference of the selection). */
export function chooseLines(
  shape: AttentionShape,
  inputs: AttentionInputs,
  s: VerticalSlashSplit,
  head: number,
): { columns: Int32Array; diagonals: Int32Array } {
  const scores = headScores(shape, inputs, s, head);
  return {
    columns: topIndices(scores.columns, s.verticals),
    diagonals: topIndices(scores.slashes, s.slashes),
  };
}

/** Indices whose in-or-out depends on a near-tie at the top-`keep` boundary (none if clear). */
export function nearTieIndices(scores: Float32Array, keep: number, gap = TIE_GAP): number[] {
  if (!topBoundaryIsNearTie(scores, keep, gap)) return [];
  const sorted = Array.from(scores).filter((x) => x > -1e38).sort((a, b) => b - a);
  const [inside, outside] = [sorted[keep - 1], sorted[keep]];
  const tol = gap * Math.max(Math.abs(inside), Math.abs(outside), 1e-30);
  return [...scores.keys()].filter((j) => scores[j] >= outside - tol && scores[j] <= inside + tol);
}

const cachedLines = perInputCache<{ columns: Int32Array; diagonals: Int32Array }>();
const cachedTies = perInputCache<{ columns: number[]; diagonals: number[] }>();
const cachedAlternatives = perInputCache<{ columns: Int32Array; diagonals: Int32Array }[]>();

function settingsKey(shape: AttentionShape, s: VerticalSlashSplit, head: number): string {
  return `${JSON.stringify(shape)}|${JSON.stringify(s)}|${head}`;
}

export const verticalSlashAttention = defineAttentionMethod({
  id: "vertical-slash-attention",
  family: "attention",
  title: "Vertical-slash (MInference)",
  fidelity: {
    level: "simplified",
    reason:
      "MInference's online vertical-slash estimate; no offline per-head pattern search: every head is vertical-slash at one budget",
  },
  description:
    "Per head, the last queries' softmax over all keys is summed per key column and per diagonal; every row attends to the top columns and top diagonals (the first `sinks` columns and the local window always among them).",
  paper: {
    title:
      "MInference 1.0: Accelerating Pre-filling for Long-Context LLMs via Dynamic Sparse Attention",
    year: 2024,
    link: "https://arxiv.org/abs/2407.02490",
  },
  version: "1.0.2",
  parameters: {
    density: {
      type: "number",
      description:
        "keys per row asked for, as a share of the mean keys a row sees: B = round(density · mean visible); verticalShare of B are columns, the rest diagonals (the window among them)",
      // Realized density is about a third of this for causal prefill (see notes).
      default: 0.2,
      min: 0.001,
      max: 1,
      sweep: [0.1, 0.2, 0.4],
    },
    verticalShare: {
      type: "number",
      description: "share of the budget B spent on key columns (the rest on diagonals)",
      default: 0.5,
      min: 0,
      max: 1,
      sweep: [0.5],
    },
    lastQueries: {
      type: "int",
      description: "query rows (the last ones) whose attention estimates the pattern",
      default: 64,
      min: 1,
      max: 1024,
      sweep: [64],
    },
    window: {
      type: "int",
      description: "local diagonals (offsets 0 .. window − 1) always kept, counted in the budget",
      default: 16,
      min: 1,
      max: 4096,
      sweep: [16],
    },
    sinks: {
      type: "int",
      description: "leading key columns always kept, counted in the budget",
      default: 4,
      min: 0,
      max: 1024,
      sweep: [4],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "Follows MInference's online estimate (softmax of the last 64 queries, column and diagonal sums, top-k of each, leading columns and local diagonals forced in); the offline per-head pattern search that picks vertical-slash versus other patterns and per-head budgets is not done: every head is vertical-slash at one budget. nominalDensity is an upper bound (B keys per row, capped by what the row sees): for causal prefill a column counts only for rows at or after it, a diagonal only for rows past its offset, and lines overlap, so realized density is about a third of it. As in MInference, the slash sums also collect the mass the last queries give to sinks and far tokens (at offsets t − j near t), which spends some diagonals on offsets only late rows reach. Non-causal inputs use only backward diagonals (t − j ≥ 0); keys ahead come only from columns. The estimate is a dense pass of the last queries (64·seq dot products per head, a scratch of heads·64·seq floats): small beside prefill attention at seq ≥ 2048, but when decoding a few queries the estimate is the whole computation again, so it is slower than dense there. Needle retrieval: while the scored needle queries sat in the last 64 rows (needle-retrieval 1.0.0) the estimate saw the very queries it was scored on and kept every needle (accuracy 1); with them 80 rows before the end (2.0.0) it keeps none at smoke size (accuracy 0 of 16, seq 131): its column estimate only finds keys the last queries attend to.",
  impl: {
    budgetKnob: { param: "density", direction: "increasing" },
    setup(gpu, { shape, inputs, params }) {
      const s = verticalSlashSplit(shape, params);
      const { device } = gpu;
      const scratchBytes = shape.heads * s.last * shape.seq * 4;
      if (scratchBytes > device.limits.maxStorageBufferBindingSize) {
        return Promise.reject(
          new Error(
            `Cannot estimate vertical-slash scores as the scratch of ${scratchBytes} bytes (heads × lastQueries × seq floats) exceeds this adapter's storage binding limit of ${device.limits.maxStorageBufferBindingSize}: lower lastQueries`,
          ),
        );
      }
      return setupKeyMasks(gpu, {
        shape,
        inputs,
        groups: 1,
        window: s.window,
        async build({ uniforms, layout, bind, topkPass }) {
          const loops = estimateIterations(shape.headDim, shape.seq, s.last);
          assertIterationBounds({
            "vs-logits": loops.logits,
            "vs-max": loops.lse,
            "vs-lse": loops.lse,
            "vs-sums": loops.sums,
          });
          const logits = createStorage(device, scratchBytes, "vs-logits");
          const lse = createStorage(device, shape.heads * s.last * 4, "vs-lse");
          const columns = createStorage(device, shape.heads * shape.seq * 4, "vs-columns");
          const slashes = createStorage(device, shape.heads * shape.seq * 4, "vs-slashes");
          const keeps = [s.verticals, s.slashes].map((keep) =>
            uploadStorage(device, new Uint32Array(shape.heads).fill(keep))
          );
          const uniformBuffer = device.createBuffer({
            size: 16,
            usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
          });
          device.queue.writeBuffer(uniformBuffer, 0, Uint32Array.from([s.last, s.sinks, 0, 0]));
          const [logitPass, maxPass, lsePass, sumPass, topColumns, topSlashes] = await Promise.all([
            compilePipeline(device, estimateLogitsWgsl(shape.headDim), "vs-logits"),
            compilePipeline(device, estimateLseWgsl("max"), "vs-max"),
            compilePipeline(device, estimateLseWgsl("sum"), "vs-lse"),
            compilePipeline(device, estimateSumsWgsl(), "vs-sums"),
            topkPass({
              scores: columns,
              keeps: keeps[0],
              segments: shape.heads,
              len: shape.seq,
              stride: shape.seq,
              section: layout.headAt(0),
            }),
            topkPass({
              scores: slashes,
              keeps: keeps[1],
              segments: shape.heads,
              len: shape.seq,
              stride: shape.seq,
              section: layout.diagAt(0),
            }),
          ]);
          const overSeq = Math.ceil(shape.seq / MASKS_WORKGROUP);
          // Estimation pairs: each estimation row against the keys it sees.
          let pairs = 0;
          for (let r = 0; r < s.last; r++) {
            pairs += shape.causal ? shape.seq - s.last + r + 1 : shape.seq;
          }
          return {
            passes: [
              [
                logitPass.pipeline,
                bind(logitPass.pipeline, [
                  inputs.q,
                  inputs.k,
                  logits,
                  uniforms,
                  uniformBuffer,
                ]),
                [overSeq, shape.heads, 1],
              ],
              ...[maxPass, lsePass].map((pass): Pass => [
                pass.pipeline,
                bind(pass.pipeline, [logits, lse, uniforms, uniformBuffer]),
                [Math.ceil(s.last / MASKS_WORKGROUP), shape.heads, 1],
              ]),
              [
                sumPass.pipeline,
                bind(sumPass.pipeline, [
                  logits,
                  lse,
                  columns,
                  slashes,
                  uniforms,
                  uniformBuffer,
                ]),
                [overSeq, shape.heads, 1],
              ],
              ...topColumns.passes,
              ...topSlashes.passes,
            ],
            compileMs: logitPass.compileMs + maxPass.compileMs + lsePass.compileMs +
              sumPass.compileMs + topColumns.compileMs,
            buffers: [
              logits,
              lse,
              columns,
              slashes,
              uniformBuffer,
              ...keeps,
              ...topColumns.buffers,
              ...topSlashes.buffers,
            ],
            // Per estimation pair: q scaled afresh (1 per element, the logits pass loops rows
            // inside keys) and a q·k dot (2 per element). The per-score work after it (max,
            // log-sum-exp, column and diagonal sums) is not counted, by the family's convention
            // (AttentionKernel.extraFlops); the top-k selects are integer radix passes.
            extraFlops: shape.heads * pairs * 3 * shape.headDim,
          };
        },
      });
    },
    selectKeys({ shape, params, inputs }, head, row) {
      const s = verticalSlashSplit(shape, params);
      const lines = cachedLines(
        inputs,
        settingsKey(shape, s, head),
        () => chooseLines(shape, inputs, s, head),
      );
      return selectedKeys(shape, row, { ...lines, window: s.window });
    },
    ambiguousRow({ shape, params, inputs }, head, row) {
      const s = verticalSlashSplit(shape, params);
      const ties = cachedTies(inputs, settingsKey(shape, s, head), () => {
        const scores = headScores(shape, inputs, s, head);
        return {
          columns: nearTieIndices(scores.columns, s.verticals),
          diagonals: nearTieIndices(scores.slashes, s.slashes),
        };
      });
      const pos = queryOffset(shape) + row;
      // A flipped column matters to a row that sees it outside its window; a flipped diagonal
      // to a row whose position reaches it.
      return ties.columns.some((j) =>
        (!shape.causal || j <= pos) && (j > pos || pos - j >= s.window)
      ) ||
        ties.diagonals.some((o) => o <= pos);
    },
    tieAlternatives({ shape, params, inputs }, head, row) {
      const s = verticalSlashSplit(shape, params);
      const key = settingsKey(shape, s, head);
      const lines = cachedLines(inputs, key, () => chooseLines(shape, inputs, s, head));
      // One near-tie broken the other way at a time: a column swapped, or a diagonal.
      const alternatives = cachedAlternatives(inputs, key, () => {
        const scores = headScores(shape, inputs, s, head);
        return [
          ...topIndicesAlternatives(scores.columns, s.verticals, TIE_GAP)
            .map((columns) => ({ columns, diagonals: lines.diagonals })),
          ...topIndicesAlternatives(scores.slashes, s.slashes, TIE_GAP)
            .map((diagonals) => ({ columns: lines.columns, diagonals })),
        ];
      });
      return otherSelections(
        selectedKeys(shape, row, { ...lines, window: s.window }),
        alternatives.map((l) => selectedKeys(shape, row, { ...l, window: s.window })),
      );
    },
    nominalDensity(shape, params) {
      const s = verticalSlashSplit(shape, params);
      const perRow = s.verticals + s.window + s.slashes;
      let pairs = 0;
      for (let row = 0; row < queryCount(shape); row++) {
        const pos = queryOffset(shape) + row;
        pairs += Math.min(perRow, shape.causal ? pos + 1 : shape.seq);
      }
      return pairs / densePairsPerHead(shape);
    },
    // The estimate works out every visible q·k of the last `last` query rows; the other rows
    // score what they attend.
    scoredPairs(shape, params, visited) {
      const last = verticalSlashSplit(shape, params).last;
      const queries = queryCount(shape);
      let pairs = 0;
      for (let head = 0; head < shape.heads; head++) {
        for (let row = 0; row < queries; row++) {
          const pos = queryOffset(shape) + row;
          pairs += row >= queries - last
            ? (shape.causal ? pos + 1 : shape.seq)
            : visited[head * queries + row];
        }
      }
      return pairs;
    },
  },
});
