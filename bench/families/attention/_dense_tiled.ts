// Dense attention built like FlashAttention-2: each invocation holds several query rows, so every
// key and value it loads is used once per row; keys come in chunks whose scores share one rescale
// of the accumulators (the online softmax's max is taken per chunk, not per key); optionally the
// workgroup stages tiles of K and V in workgroup memory. Which variant is fastest depends on the
// adapter (on llvmpipe staged tiles have lost to plain loads), so setup times each on the case's
// shape and keeps the fastest, outside the timed samples.
import type { GpuContext } from "../../gpu/device.ts";
import { bindInOrder, encodePasses, type Pass } from "../../gpu/passes.ts";
import { createStorage } from "../../gpu/buffers.ts";
import { createAttentionOutputs } from "./_outputs.ts";
import { compilePipeline } from "./_pipelines.ts";
import {
  type AttentionGpuInputs,
  type AttentionKernel,
  type AttentionShape,
  queryCount,
} from "./_interface.ts";
import { assertIterationBound } from "./_iteration_bound.ts";

/** One build of the tiled dense kernel. */
export interface DenseVariant {
  /** Query rows per invocation: each loaded key and value is used this many times. */
  rows: number;
  /** Keys scored before one rescale of the accumulators. */
  chunk: number;
  /** Keys per K/V tile staged in workgroup memory; 0 reads keys straight from storage. */
  tile: number;
  /** Invocations per workgroup. */
  workgroup: number;
}

/**
 * The variant's name as a cell's `sparsity.kernel` records it, e.g. `dense-r2-c4` or
 * `dense-r2-c4-t32`.
 *
 * @example
 * ```ts
 * import { denseVariantName } from "./mod.ts";
 * denseVariantName({ rows: 2, chunk: 4, tile: 0, workgroup: 64 }); // "dense-r2-c4"
 * ```
 */
export function denseVariantName(variant: DenseVariant): string {
  return `dense-r${variant.rows}-c${variant.chunk}${variant.tile > 0 ? `-t${variant.tile}` : ""}`;
}

// Workgroup memory every adapter offers (WebGPU's default maxComputeWorkgroupStorageSize).
const WORKGROUP_BYTES = 16384;
// The unrolled body grows as rows × chunk × lanes; past this many vec4 products per chunk the
// shader takes lavapipe a minute or more to compile (head dim 128, 2 rows × 8 keys), so such
// variants are not offered.
const MAX_UNROLLED = 256;

/**
 * The variants the autotune tries for `headDim`: one row per invocation with a per-key rescale
 * (the plain kernel's loop, for comparison), several rows and chunks reading storage, and K/V
 * tiles in workgroup memory where two tiles fit.
 *
 * @param headDim the head dimension (a multiple of 4)
 * @returns the candidates, plain first
 */
export function denseVariants(headDim: number): DenseVariant[] {
  const lanes = headDim / 4;
  // Measured on llvmpipe (lavapipe, seq 2048, causal, 8 × 64, slab times under load): 8 rows × 2
  // keys and 4 × 4 ran 3–4× the plain loop's rate; one row with 8-key chunks and 2 rows with 8
  // did no better than 2 × 4, so they are not offered. 16 rows ran 1.3× 8 rows but took lavapipe
  // minutes to compile at first dispatch, past a cell's setup time limit.
  const candidates: DenseVariant[] = [
    { rows: 1, chunk: 1, tile: 0, workgroup: 64 },
    { rows: 2, chunk: 4, tile: 0, workgroup: 64 },
    { rows: 4, chunk: 2, tile: 0, workgroup: 64 },
    { rows: 4, chunk: 4, tile: 0, workgroup: 64 },
    { rows: 8, chunk: 2, tile: 0, workgroup: 64 },
    { rows: 4, chunk: 4, tile: 32, workgroup: 32 },
  ];
  return candidates.filter((v) =>
    v.rows * v.chunk * lanes <= MAX_UNROLLED &&
    (v.tile === 0 || 2 * v.tile * headDim * 4 <= WORKGROUP_BYTES)
  );
}

// Straight-line WGSL over the lanes and rows: the lane loops are unrolled here rather than left
// to the compiler, so no loop but the key loops counts against llvmpipe's iteration limit.
function each(n: number, line: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => line(i)).join("\n");
}

/**
 * Scores `chunk` keys for every row and folds them into each row's online softmax with one
 * rescale. `key(b, i)` and `value(b, i)` are WGSL expressions of lane i of chunk key b.
 */
function chunkWgsl(
  lanes: number,
  rows: number,
  chunk: number,
  key: (b: number, i: number) => string,
  value: (b: number, i: number) => string,
): string {
  const R = Array.from({ length: rows }, (_, r) => r);
  const B = Array.from({ length: chunk }, (_, b) => b);
  return [
    ...B.flatMap((b) => [
      ...R.map((r) => `var l${r}_${b} = vec4<f32>(0.0);`),
      each(
        lanes,
        (i) =>
          `{ let kv = ${key(b, i)}; ${R.map((r) => `l${r}_${b} += q${r}[${i}] * kv;`).join(" ")} }`,
      ),
    ]),
    ...R.flatMap((r) => [
      ...B.map((b) =>
        `let s${r}_${b} = l${r}_${b}.x + l${r}_${b}.y + l${r}_${b}.z + l${r}_${b}.w;`
      ),
      `let top${r} = max(m${r}, ${
        B.map((b) => `s${r}_${b}`).reduce((a, s) => `max(${a}, ${s})`)
      });`,
      `let c${r} = exp(m${r} - top${r});`,
      ...B.map((b) => `let w${r}_${b} = exp(s${r}_${b} - top${r});`),
      `d${r} = d${r} * c${r} + ${B.map((b) => `w${r}_${b}`).join(" + ")};`,
      `m${r} = top${r};`,
    ]),
    each(lanes, (i) =>
      [
        ...R.map((r) => `a${r}[${i}] *= c${r};`),
        ...B.map((b) =>
          `{ let vv = ${value(b, i)}; ${
            R.map((r) => `a${r}[${i}] += w${r}_${b} * vv;`).join(" ")
          } }`
        ),
      ].join(" ")),
  ].join("\n");
}

/**
 * One key folded into the rows that see it (`j <= hi_r`), for the ragged ends of a row group's
 * key range: rows beyond their last key get weight 0 and keep their max.
 */
function maskedKeyWgsl(
  lanes: number,
  rows: number,
  key: (i: number) => string,
  value: (i: number) => string,
): string {
  const R = Array.from({ length: rows }, (_, r) => r);
  return [
    ...R.map((r) => `var l${r} = vec4<f32>(0.0);`),
    each(
      lanes,
      (i) => `{ let kv = ${key(i)}; ${R.map((r) => `l${r} += q${r}[${i}] * kv;`).join(" ")} }`,
    ),
    ...R.flatMap((r) => [
      `let see${r} = (j >= lo${r} && j <= hi${r}) || j < sink${r};`,
      `let s${r} = select(-3.0e38, l${r}.x + l${r}.y + l${r}.z + l${r}.w, see${r});`,
      `let top${r} = max(m${r}, s${r});`,
      `let c${r} = exp(m${r} - top${r});`,
      `let w${r} = select(0.0, exp(s${r} - top${r}), see${r});`,
      `d${r} = d${r} * c${r} + w${r};`,
      `m${r} = top${r};`,
    ]),
    each(
      lanes,
      (i) =>
        `{ let vv = ${value(i)}; ${
          R.map((r) => `a${r}[${i}] = a${r}[${i}] * c${r} + w${r} * vv;`).join(" ")
        } }`,
    ),
  ].join("\n");
}

/**
 * WGSL of the tiled dense kernel for head dimension `headDim` (a multiple of 4). Invocation g of
 * head h holds query rows `row_base + g·rows …` (the last ones clamped to the last row and not
 * written), each row r attending keys 0..hi_r (its position when causal, the last key otherwise).
 */
export function denseTiledWgsl(headDim: number, variant: DenseVariant): string {
  const lanes = headDim / 4;
  const { rows, chunk, tile, workgroup } = variant;
  const R = Array.from({ length: rows }, (_, r) => r);
  const tiled = tile > 0;
  const keyAt = (j: string, i: number) =>
    tiled ? `ks[(${j} - t0) * D4 + ${i}u]` : `k[base + (${j}) * D4 + ${i}u]`;
  const valueAt = (j: string, i: number) =>
    tiled ? `vs[(${j} - t0) * D4 + ${i}u]` : `v[base + (${j}) * D4 + ${i}u]`;
  const chunkBody = chunkWgsl(
    lanes,
    rows,
    chunk,
    (b, i) => keyAt(`j + ${b}u`, i),
    (b, i) => valueAt(`j + ${b}u`, i),
  );
  const maskedBody = maskedKeyWgsl(lanes, rows, (i) => keyAt("j", i), (i) => valueAt("j", i));
  // Keys [from, full_end) are seen by every row of the invocation (chunks while a whole chunk
  // fits, then one at a time); [.., last_end) only by some (masked).
  const attend = (from: string, fullEnd: string, lastEnd: string) => /* wgsl */ `
    var j = ${from};
    loop {
      if (j + ${chunk}u > ${fullEnd}) { break; }
${chunkBody}
      j += ${chunk}u;
    }
    loop {
      if (j >= ${lastEnd}) { break; }
${maskedBody}
      j++;
    }`;
  const header = /* wgsl */ `
struct Params { seq: u32, queries: u32, causal: u32, row_base: u32, scale: f32, window: u32, sinks: u32 };
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> visited: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;
// Per row the band it attended (lo, hi, sink end), the kernel's own record of its selection.
@group(0) @binding(6) var<storage, read_write> bands: array<u32>;
const D4: u32 = ${lanes}u;
${
    tiled
      ? `var<workgroup> ks: array<vec4<f32>, ${
        tile * lanes
      }>;\nvar<workgroup> vs: array<vec4<f32>, ${tile * lanes}>;`
      : ""
  }
// The key band [lo, hi] of row 'row', as the banded kernel has it: every (causal) key when window
// is 0, else the last 'window' keys up to the row (causal) or 'window' keys centred on it.
fn band(row: u32) -> vec2<u32> {
  let pos = p.seq - p.queries + row;
  var lo = 0u;
  var hi = p.seq - 1u;
  if (p.causal == 1u) {
    hi = pos;
    if (p.window > 0u && pos + 1u > p.window) { lo = pos + 1u - p.window; }
  } else if (p.window > 0u) {
    let before = p.window / 2u;
    let after = p.window - before - 1u;
    if (pos > before) { lo = pos - before; }
    hi = min(p.seq - 1u, pos + after);
  }
  return vec2<u32>(lo, hi);
}`;
  const rowSetup = /* wgsl */ `
  let head = wid.y;
  let base = head * p.seq * D4;
  let first_row = p.row_base + (wid.x * ${workgroup}u + lid.x) * ${rows}u;
  let in_range = first_row < p.queries;
  let last_row = p.queries - 1u;
${
    R.map((r) =>
      `  let row${r} = min(first_row + ${r}u, last_row);\n  let band${r} = band(row${r});\n  let lo${r} = band${r}.x;\n  let hi${r} = band${r}.y;\n  let sink${r} = min(p.sinks, lo${r});\n  let qrow${r} = (head * p.queries + row${r}) * D4;`
    ).join("\n")
  }
${R.map((r) => `  var q${r}: array<vec4<f32>, D4>;\n  var a${r}: array<vec4<f32>, D4>;`).join("\n")}
${R.map((r) => `  var m${r} = -3.0e38;\n  var d${r} = 0.0;`).join("\n")}
${
    each(
      lanes,
      (i) =>
        R.map((r) => `  q${r}[${i}] = q[qrow${r} + ${i}u] * p.scale; a${r}[${i}] = vec4<f32>(0.0);`)
          .join(""),
    )
  }`;
  const store = R.map((r) => /* wgsl */ `
  if (first_row + ${r}u < p.queries) {
${each(lanes, (i) => `    o[qrow${r} + ${i}u] = a${r}[${i}] / d${r};`)}
    visited[head * p.queries + row${r}] = hi${r} - lo${r} + 1u + sink${r};
    let at${r} = (head * p.queries + row${r}) * 3u;
    bands[at${r}] = lo${r};
    bands[at${r} + 1u] = hi${r};
    bands[at${r} + 2u] = sink${r};
  }`).join("");
  const signature =
    `@compute @workgroup_size(${workgroup})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>)`;
  if (!tiled) {
    return `${header}
${signature} {
${rowSetup}
  if (!in_range) { return; }
  // Sink keys every row sees; the band's start, which only later rows skip; the keys every row
  // sees (chunked), then the band's end, which only later rows see. Rows' bands start and end
  // in row order, so each range is one loop; where the bands do not overlap (window < rows) the
  // middle range is empty and the masked ranges meet.
  {${attend("0u", "sink0", "sink0")}
  }
  let mid_start = min(lo${rows - 1}, hi${rows - 1} + 1u);
  {${attend("lo0", "lo0", "mid_start")}
  }
  {${attend("mid_start", "max(hi0 + 1u, mid_start)", `hi${rows - 1} + 1u`)}
  }
${store}
}`;
  }
  // The workgroup's key range ends at its last in_range row's last key: the same for every
  // invocation (it depends on the workgroup id and uniforms only), so the tile loop and its
  // barriers are uniform. Each invocation attends within a tile only the keys its rows see.
  return `${header}
${signature} {
${rowSetup}
  let group_last = min(p.row_base + (wid.x + 1u) * ${workgroup * rows}u - 1u, last_row);
  let group_end = band(group_last).y + 1u;
  var t0 = 0u;
  loop {
    if (t0 >= group_end) { break; }
    let t_end = min(t0 + ${tile}u, group_end);
    for (var e = lid.x; e < (t_end - t0) * D4; e += ${workgroup}u) {
      ks[e] = k[base + t0 * D4 + e];
      vs[e] = v[base + t0 * D4 + e];
    }
    workgroupBarrier();
    if (in_range) {${attend("t0", "min(t_end, hi0 + 1u)", `min(t_end, hi${rows - 1} + 1u)`)}
    }
    workgroupBarrier();
    t0 += ${tile}u;
  }
${store}
}`;
}

/**
 * The most loop iterations one invocation of `variant` runs for `shape` (all its loops, each
 * entry's exit test included): the lane loops are unrolled in the source and count nothing.
 *
 * @param shape the attention shape
 * @param variant the variant
 * @param band the window (0: every key) and sink keys the rows attend
 * @returns iterations, for {@link assertIterationBound}
 */
export function denseTiledIterations(
  shape: AttentionShape,
  variant: DenseVariant,
  band: { window: number; sinks: number } = { window: 0, sinks: 0 },
): number {
  const { rows, chunk, tile, workgroup } = variant;
  const keys = band.window > 0 ? Math.min(band.window, shape.seq) : shape.seq;
  // One key range: whole chunks, then at most chunk − 1 + rows − 1 masked keys; an exit each.
  const range = (n: number) => Math.floor(n / chunk) + chunk + rows + 2;
  if (tile === 0) {
    // The sinks (chunks and fewer than a chunk left), the band's start (under rows keys), the
    // rest of the band; where bands do not overlap, the last range is all masked keys (≤ rows
    // more than the chunked count).
    return Math.floor(band.sinks / chunk) + chunk + 2 + rows + 1 + range(keys) +
      Math.min(keys, rows);
  }
  const tiles = Math.ceil(keys / tile);
  const load = Math.ceil((tile * shape.headDim) / 4 / workgroup) + 1;
  return tiles * (1 + load + range(tile)) + 1;
}

/** What the tiled dense kernel is set up for. */
export interface DenseTiledOptions {
  shape: AttentionShape;
  inputs: AttentionGpuInputs;
  /** The candidates to tune among (default {@link denseVariants} of the head dimension). */
  variants?: readonly DenseVariant[];
  /** Keys per row; 0 (default) means every (causal) key, as in the banded kernel. */
  window?: number;
  /** Leading keys every row attends to besides its band (default 0). */
  sinks?: number;
}

/** How the autotune chose: each candidate's best time and the time tuning took. */
export interface DenseTuning {
  chosen: string;
  tuneMs: number;
  /** Best milliseconds of each candidate on the tuning slab, by name. */
  candidates: Record<string, number>;
}

// The tuning slab: the last query rows (the heaviest when causal) of as many heads as keep one
// timed dispatch near this many FLOPs, so tuning stays a fraction of a second per candidate.
const TUNE_ROWS = 1024;
const TUNE_FLOPS = 4e8;
const TUNE_ROUNDS = 3;
/**
 * Cases with fewer query–key pairs per head than this (smoke's shapes, the small check inputs)
 * run the plain variant untuned: compiling the unrolled variants on lavapipe took longer than a
 * cell's 60 s setup limit on two idle cores, far more than any of them could save on so little
 * work. From seq 1024 up (every quick and full case) the autotune runs.
 */
export const MIN_TUNED_PAIRS = 1 << 20;

interface Built {
  variant: DenseVariant;
  name: string;
  pipeline: GPUComputePipeline;
  compileMs: number;
  groups: (heads: number, rows: number) => [number, number, number];
}

// A candidate's source depends on the head dim alone and setup compiles every candidate, so the
// pipelines are kept per device: a case's check input, the next case and the window methods reuse
// them (lavapipe spent 7–15 s compiling the six under load, and a check compiling them again ran
// past its 60 s limit at seq 2048). As with shared pipelines (`_pipelines.ts`), a reused pipeline
// reports the time its first compile took.
const compiledOnce = new WeakMap<GPUDevice, Map<string, ReturnType<typeof compilePipeline>>>();

function compileOnce(device: GPUDevice, code: string, label: string) {
  const cache = compiledOnce.get(device) ?? new Map<string, ReturnType<typeof compilePipeline>>();
  compiledOnce.set(device, cache);
  let compiled = cache.get(code);
  if (!compiled) {
    compiled = compilePipeline(device, code, label);
    cache.set(code, compiled);
    compiled.catch(() => cache.delete(code));
  }
  return compiled;
}

async function timeDispatch(gpu: GpuContext, pass: Pass): Promise<number> {
  const start = performance.now();
  const encoder = gpu.device.createCommandEncoder();
  encodePasses(encoder, [pass]);
  gpu.device.queue.submit([encoder.finish()]);
  await gpu.device.queue.onSubmittedWorkDone();
  return performance.now() - start;
}

function uniformsFor(
  device: GPUDevice,
  shape: AttentionShape,
  band: { window: number; sinks: number; rowBase: number },
): GPUBuffer {
  const buffer = device.createBuffer({
    size: 32,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const params = new DataView(new ArrayBuffer(32));
  params.setUint32(0, shape.seq, true);
  params.setUint32(4, queryCount(shape), true);
  params.setUint32(8, shape.causal ? 1 : 0, true);
  params.setUint32(12, band.rowBase, true);
  params.setFloat32(16, 1 / Math.sqrt(shape.headDim), true);
  params.setUint32(20, band.window, true);
  params.setUint32(24, band.sinks, true);
  device.queue.writeBuffer(buffer, 0, params.buffer);
  return buffer;
}

/**
 * Compiles the tiled dense kernel's variants for the shape, times each on a slab of the case
 * (its last query rows over a few heads, every candidate on the same slab, best of two after a
 * warm-up dispatch) and binds the fastest to the task's inputs. Tuning runs in setup, outside the
 * timed samples; the kernel reports what it chose in `tuning`.
 *
 * @param gpu the device
 * @param options shape, inputs and (optionally) the candidates
 * @returns the kernel, with `tuning`
 * @throws {RangeError} when headDim is not a multiple of 4 or exceeds 256, no candidate fits the
 *   head dimension, or a row is longer than one invocation can loop over
 *   ({@link assertIterationBound})
 */
export async function setupTiledDense(
  gpu: GpuContext,
  options: DenseTiledOptions,
): Promise<AttentionKernel & { tuning: DenseTuning }> {
  const { shape, inputs, window = 0, sinks = 0 } = options;
  if (shape.headDim % 4 !== 0 || shape.headDim > 256) {
    throw new RangeError(
      `Cannot run tiled dense attention as 'headDim' must be a multiple of 4 up to 256: current value is ${shape.headDim}`,
    );
  }
  // Staged tiles span a workgroup's whole key range, which only dense rows share.
  const small = queryCount(shape) * shape.seq < MIN_TUNED_PAIRS;
  const offered = options.variants ??
    (small ? denseVariants(shape.headDim).slice(0, 1) : denseVariants(shape.headDim));
  const variants = offered.filter((v) => v.tile === 0 || (window === 0 && sinks === 0));
  if (variants.length === 0) {
    throw new RangeError(
      `Cannot run tiled dense attention as no variant fits head dim ${shape.headDim}`,
    );
  }
  const names = variants.map(denseVariantName);
  if (new Set(names).size !== names.length) {
    throw new RangeError(
      `Cannot tune tiled dense attention as its candidates must have distinct names: current names are ${
        names.join(", ")
      }`,
    );
  }
  for (const variant of variants) {
    assertIterationBound(
      `dense-attention (${denseVariantName(variant)})`,
      denseTiledIterations(shape, variant, { window, sinks }),
    );
  }
  const { device } = gpu;
  const queries = queryCount(shape);
  const built: Built[] = await Promise.all(variants.map(async (variant) => {
    const name = denseVariantName(variant);
    const { pipeline, compileMs } = await compileOnce(
      device,
      denseTiledWgsl(shape.headDim, variant),
      `${name}-d${shape.headDim}`,
    );
    const perGroup = variant.rows * variant.workgroup;
    return {
      variant,
      name,
      pipeline,
      compileMs,
      groups: (heads, rows) => [Math.ceil(rows / perGroup), heads, 1],
    };
  }));
  // The candidates compile concurrently: the longest is about the time they took together. The
  // adapter may finish compiling at a pipeline's first dispatch, counted here too, not as tuning.
  let compileMs = Math.max(...built.map((b) => b.compileMs));
  const { output, visited } = createAttentionOutputs(device, shape);
  const bands = createStorage(device, shape.heads * queries * 3 * 4, "attention-bands");
  const buffers = [inputs.q, inputs.k, inputs.v, output, visited];
  const uniforms = uniformsFor(device, shape, { window, sinks, rowBase: 0 });

  let tuneStart = performance.now();
  const candidates: Record<string, number> = {};
  let best = built[0];
  if (built.length > 1) {
    const slabRows = Math.min(queries, TUNE_ROWS);
    const slabBase = queries - slabRows;
    const keysPerRow = window > 0
      ? Math.min(shape.seq, window + sinks)
      : shape.causal
      ? shape.seq - slabRows / 2
      : shape.seq;
    const headFlops = slabRows * keysPerRow * 4 * shape.headDim;
    const slabHeads = Math.max(1, Math.min(shape.heads, Math.floor(TUNE_FLOPS / headFlops)));
    const slabUniforms = uniformsFor(device, shape, { window, sinks, rowBase: slabBase });
    try {
      const groups = built.map((b) =>
        bindInOrder(device, b.pipeline, [...buffers, slabUniforms, bands])
      );
      // A first dispatch of one workgroup carries any lazy compilation.
      for (const [i, b] of built.entries()) {
        await timeDispatch(gpu, [b.pipeline, groups[i], [1, 1, 1]]);
        candidates[b.name] = Infinity;
      }
      compileMs += performance.now() - tuneStart;
      tuneStart = performance.now();
      // Candidates take turns, round after round, and keep their best: load that drifts while
      // tuning (other work on the machine) then touches every candidate alike.
      for (let round = 0; round < TUNE_ROUNDS; round++) {
        for (const [i, b] of built.entries()) {
          const pass: Pass = [b.pipeline, groups[i], b.groups(slabHeads, slabRows)];
          candidates[b.name] = Math.min(candidates[b.name], await timeDispatch(gpu, pass));
        }
      }
      for (const b of built) if (candidates[b.name] < candidates[best.name]) best = b;
    } finally {
      slabUniforms.destroy();
    }
  }
  const tuneMs = performance.now() - tuneStart;
  const passes: Pass[] = [[
    best.pipeline,
    bindInOrder(device, best.pipeline, [...buffers, uniforms, bands]),
    best.groups(shape.heads, queries),
  ]];
  return {
    encode: (encoder) => encodePasses(encoder, passes),
    output,
    visited,
    compileMs,
    extraFlops: 0,
    tuning: { chosen: best.name, tuneMs, candidates },
    // Written by the timed pass beside `visited` (three u32 per row, against the row's headDim
    // floats of output): what each row attended, read back after timing.
    bandChoice: { bands },
    dispose() {
      output.destroy();
      visited.destroy();
      bands.destroy();
      uniforms.destroy();
    },
  };
}
