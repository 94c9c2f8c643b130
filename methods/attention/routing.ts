// Routing Transformer attention: per head, spherical k-means over unit-normalised queries and keys
// with shared centroids; each query attends to the keys of its own cluster, plus a local window,
// causally. The clustering runs on the GPU every computation (its cost is the routing cost).
import { createStorage } from "../../bench/gpu/buffers.ts";
import type { Pass } from "../../bench/gpu/passes.ts";
import {
  assertIterationBounds,
  type AttentionInputs,
  type AttentionShape,
  compilePipeline,
  defineAttentionMethod,
  densePairsPerHead,
  float32Dot4,
  MAX_TIE_ALTERNATIVES,
  otherSelections,
  perInputCache,
  queryCount,
  queryOffset,
  selectedKeys,
  setupKeyMasks,
} from "../../bench/families/attention/mod.ts";
import {
  assignWgsl,
  initWgsl,
  normalizeWgsl,
  routeWgsl,
  ROUTING_WORKGROUP,
  routingIterations,
  updateWgsl,
} from "./routing_kernel.ts";

/**
 * Dot products of unit vectors this close (their gap, relative to the unit norms) are a near-tie
 * between the nearest and second-nearest centroid. The GPU repeats the CPU's float32 arithmetic
 * step for step, so only a device that rounds a division or square root differently could flip
 * one; that moves a dot by a few 1e-8.
 */
export const ROUTING_TIE_GAP = 1e-6;

/** The k-means of every head: how many centroids and rounds. */
export interface RoutingSettings {
  clusters: number;
  iterations: number;
}

/** Centroids are seeded from distinct keys, so there are at most seq of them. */
export function clusterCount(shape: AttentionShape, clusters: number): number {
  return Math.max(1, Math.min(clusters, shape.seq));
}

/** One head's routing: clusters of keys and query rows, and where it hinges on near-ties. */
export interface HeadRouting {
  keyCluster: Int32Array;
  queryCluster: Int32Array;
  /** A point was a near-tie before the last assignment: any row's set may differ elsewhere. */
  unstable: boolean;
  /** Per query row, whether its own assignment is a near-tie. */
  queryTie: Uint8Array;
  /** Per cluster, the first key whose assignment near-ties that cluster with another (or seq). */
  firstTiedKey: Int32Array;
  /** Per point (keys, then query rows), the runner-up centroid of the final assignment. */
  secondCluster: Int32Array;
  /** Keys whose final assignment is a near-tie, ascending. */
  tiedKeys: Int32Array;
}

/**
 * The CPU reference of the k-means, in float32 and in the kernel's order of operations
 * (routing_kernel.ts): normalise, seed, then `iterations` rounds of assign and update, then the
 * final assignment.
 */
export function routeHead(
  shape: AttentionShape,
  inputs: AttentionInputs,
  s: RoutingSettings,
  head: number,
): HeadRouting {
  const f = Math.fround;
  const { seq, headDim: d } = shape;
  const queries = queryCount(shape);
  const points = seq + queries;
  const c = s.clusters;
  const selfDot = (x: ArrayLike<number>) => float32Dot4(x, x, { a: 0, b: 0, length: d });
  const units = new Float32Array(points * d);
  for (let point = 0; point < points; point++) {
    const x = point < seq
      ? inputs.k.subarray((head * seq + point) * d, (head * seq + point + 1) * d)
      : inputs.q.subarray(
        (head * queries + point - seq) * d,
        (head * queries + point - seq + 1) * d,
      );
    const len = f(Math.sqrt(selfDot(x)));
    for (let i = 0; i < d; i++) units[point * d + i] = len > 0 ? f(x[i] / len) : 0;
  }
  const centroids = new Float32Array(c * d);
  for (let j = 0; j < c; j++) {
    const key = Math.floor(((2 * j + 1) * seq) / (2 * c));
    centroids.set(units.subarray(key * d, (key + 1) * d), j * d);
  }
  const assignAll = () => {
    const assign = new Int32Array(points);
    const second = new Int32Array(points).fill(-1);
    const gap = new Float64Array(points).fill(Infinity);
    for (let point = 0; point < points; point++) {
      let best = 0;
      let bestScore = -3.0e38;
      let runnerUp = -Infinity;
      for (let j = 0; j < c; j++) {
        const score = float32Dot4(units, centroids, { a: point * d, b: j * d, length: d });
        if (score > bestScore) {
          if (j > 0) [runnerUp, second[point]] = [bestScore, best];
          [best, bestScore] = [j, score];
        } else if (score > runnerUp) {
          [runnerUp, second[point]] = [score, j];
        }
      }
      assign[point] = best;
      gap[point] = bestScore - runnerUp;
    }
    return { assign, second, gap };
  };
  let unstable = false;
  for (let it = 0; it < s.iterations; it++) {
    const { assign, gap } = assignAll();
    if (gap.some((g) => g <= ROUTING_TIE_GAP)) unstable = true;
    for (let j = 0; j < c; j++) {
      const sum = new Float32Array(d);
      let members = 0;
      for (let point = 0; point < points; point++) {
        if (assign[point] !== j) continue;
        for (let i = 0; i < d; i++) sum[i] = sum[i] + units[point * d + i];
        members++;
      }
      const len = f(Math.sqrt(selfDot(sum)));
      if (members === 0 || len === 0) continue;
      for (let i = 0; i < d; i++) centroids[j * d + i] = f(sum[i] / len);
    }
  }
  const { assign, second, gap } = assignAll();
  const firstTiedKey = new Int32Array(c).fill(seq);
  for (let key = seq - 1; key >= 0; key--) {
    if (gap[key] > ROUTING_TIE_GAP) continue;
    firstTiedKey[assign[key]] = key;
    if (second[key] >= 0) firstTiedKey[second[key]] = key;
  }
  return {
    keyCluster: assign.slice(0, seq),
    queryCluster: assign.slice(seq),
    unstable,
    queryTie: Uint8Array.from(gap.subarray(seq), (g) => (g <= ROUTING_TIE_GAP ? 1 : 0)),
    firstTiedKey,
    secondCluster: second,
    tiedKeys: Int32Array.from({ length: seq }, (_, key) => key).filter((key) =>
      gap[key] <= ROUTING_TIE_GAP
    ),
  };
}

interface Routing {
  heads: HeadRouting[];
  /** Per head and cluster, its keys ascending. */
  members: Int32Array[][];
}

const cached = perInputCache<Routing>();

function routingOf(shape: AttentionShape, inputs: AttentionInputs, s: RoutingSettings): Routing {
  return cached(inputs, `${JSON.stringify(shape)}|${s.clusters}|${s.iterations}`, () => {
    const heads = Array.from({ length: shape.heads }, (_, h) => routeHead(shape, inputs, s, h));
    const members = heads.map((r) =>
      Array.from(
        { length: s.clusters },
        (_, c) => Int32Array.from([...r.keyCluster.keys()].filter((j) => r.keyCluster[j] === c)),
      )
    );
    return { heads, members };
  });
}

/** Query–key pairs a local window of `window` adds per head, at most (causal limits included). */
function windowPairs(shape: AttentionShape, window: number): number {
  let pairs = 0;
  for (let row = 0; row < queryCount(shape); row++) {
    const pos = queryOffset(shape) + row;
    pairs += shape.causal ? Math.min(window, pos + 1) : Math.min(window, shape.seq);
  }
  return pairs;
}

export const routingAttention = defineAttentionMethod({
  id: "routing-attention",
  family: "attention",
  title: "Routing Transformer (k-means routing)",
  fidelity: {
    level: "simplified",
    reason:
      "k-means routing as in the paper, but centroids come from per-input spherical k-means (which sees later keys), not from training; clusters unbalanced",
  },
  description:
    "Per head, spherical k-means over unit-normalised queries and keys with shared centroids; each query attends to the keys of its own cluster (about 1/clusters of them) plus a local window, causally.",
  paper: {
    title: "Efficient Content-Based Sparse Attention with Routing Transformers",
    year: 2020,
    link: "https://arxiv.org/abs/2003.05997",
  },
  version: "1.0.0",
  parameters: {
    clusters: {
      type: "int",
      description: "k-means centroids per head: each query keeps about 1/clusters of the keys",
      default: 8,
      min: 1,
      max: 1024,
      sweep: [4, 8, 16],
    },
    iterations: {
      type: "int",
      description: "k-means rounds (assign, update) run on the GPU each computation",
      default: 2,
      min: 0,
      max: 20,
      sweep: [2],
    },
    window: {
      type: "int",
      description: "recent keys each query also attends to, itself included",
      default: 64,
      min: 0,
      max: 65536,
      sweep: [64],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "The paper learns its centroids online during training (exponential moving average, shared by q and k, on layer-normalised vectors) and routes with them at inference; with no training here, centroids are seeded from evenly spaced keys and refined by `iterations` rounds of spherical k-means on each input, on the GPU, inside the timed work of every computation, its FLOPs in extraFlops (that is the routing cost; tests: a hand count of extraFlops on a tiny input, and new q and k written after setup re-route). So the clusters, unlike the paper's, depend on the whole input including later keys (attention itself stays causal). The paper mixes local-attention heads with routing heads; here every head unions its cluster with a local window of `window` keys (0 gives pure routing). Clusters are not balanced (the paper's implementation takes the top-k nearest per centroid); a query attends to every key of its cluster. Routing is a handful of tiny passes (one invocation per centroid sums its members, so its order is fixed and the CPU reference repeats it in float32); rows whose query or a visible key sits within 1e-6 of a tie between two centroids, and whole heads with such a tie in an earlier round, are excused by the correctness check. The attend pass scans the cluster bitmap of every visible key word, so the skipped keys still cost a bit test each.",
  impl: {
    // More clusters split the keys finer: a row attends its own cluster (and its window).
    budgetKnob: { param: "clusters", direction: "decreasing" },
    setup(gpu, { shape, inputs, params }) {
      const s = { clusters: clusterCount(shape, params.clusters), iterations: params.iterations };
      const queries = queryCount(shape);
      const points = shape.seq + queries;
      const d = shape.headDim;
      return setupKeyMasks(gpu, {
        shape,
        inputs,
        groups: shape.heads * s.clusters,
        window: params.window,
        async build({ gpu, uniforms, masks, rowGroup, layout, bind }) {
          assertIterationBounds(routingIterations(d, { points, clusters: s.clusters }));
          const { device } = gpu;
          const units = createStorage(device, shape.heads * points * d * 4, "routing-units");
          const centroids = createStorage(
            device,
            shape.heads * s.clusters * d * 4,
            "routing-centroids",
          );
          const assign = createStorage(device, shape.heads * points * 4, "routing-assign");
          const [normalize, init, assignPass, update, route] = await Promise.all([
            compilePipeline(device, normalizeWgsl(d), "routing-normalize"),
            compilePipeline(device, initWgsl(d), "routing-init"),
            compilePipeline(device, assignWgsl(d), "routing-assign"),
            compilePipeline(device, updateWgsl(d), "routing-update"),
            compilePipeline(device, routeWgsl(d), "routing-route"),
          ]);
          const over = (n: number): [number, number, number] => [
            Math.ceil(n / ROUTING_WORKGROUP),
            shape.heads,
            1,
          ];
          const assignStep: Pass = [
            assignPass.pipeline,
            bind(assignPass.pipeline, [units, centroids, assign, uniforms]),
            over(points),
          ];
          const updateStep: Pass = [
            update.pipeline,
            bind(update.pipeline, [units, centroids, assign, uniforms]),
            over(s.clusters),
          ];
          const passes: Pass[] = [
            [
              normalize.pipeline,
              bind(normalize.pipeline, [inputs.q, inputs.k, units, uniforms]),
              over(points),
            ],
            [init.pipeline, bind(init.pipeline, [units, centroids, uniforms]), over(s.clusters)],
            ...Array.from({ length: s.iterations }, () => [assignStep, updateStep]).flat(),
            assignStep,
            [
              route.pipeline,
              bind(route.pipeline, [assign, rowGroup, masks, uniforms]),
              over(Math.max(queries, layout.words)),
            ],
          ];
          return {
            passes,
            compileMs: [normalize, init, assignPass, update, route].reduce(
              (sum, c) => sum + c.compileMs,
              0,
            ),
            buffers: [units, centroids, assign],
            // Normalising (3 per element), every assignment (a dot per point and centroid) and
            // every update (an add per member element, then normalising each centroid).
            extraFlops: shape.heads * d *
              (3 * points + (s.iterations + 1) * points * s.clusters * 2 +
                s.iterations * (points + 3 * s.clusters)),
          };
        },
      });
    },
    selectKeys({ shape, params, inputs }, head, row) {
      const s = { clusters: clusterCount(shape, params.clusters), iterations: params.iterations };
      const routing = routingOf(shape, inputs, s);
      const cluster = routing.heads[head].queryCluster[row];
      return selectedKeys(shape, row, {
        group: routing.members[head][cluster],
        window: params.window,
      });
    },
    // The final assignment's near-ties broken the other way, one at a time: the row joining its
    // runner-up cluster, or a tied key leaving or joining the row's cluster. A near-tie in an
    // earlier round, which moves the centroids, is not followed (such heads stay excused).
    tieAlternatives({ shape, params, inputs }, head, row) {
      const s = { clusters: clusterCount(shape, params.clusters), iterations: params.iterations };
      const routing = routingOf(shape, inputs, s);
      const r = routing.heads[head];
      if (r.unstable) return [];
      const members = routing.members[head];
      const cluster = r.queryCluster[row];
      const keysWith = (group: Int32Array) =>
        selectedKeys(shape, row, { group, window: params.window });
      const alternatives: Int32Array[] = [];
      const runnerUp = r.secondCluster[shape.seq + row];
      if (r.queryTie[row] === 1 && runnerUp >= 0) alternatives.push(keysWith(members[runnerUp]));
      const last = shape.causal ? queryOffset(shape) + row : shape.seq - 1;
      for (const key of r.tiedKeys) {
        if (key > last || alternatives.length >= MAX_TIE_ALTERNATIVES) break;
        if (r.keyCluster[key] === cluster) {
          alternatives.push(keysWith(members[cluster].filter((j) => j !== key)));
        } else if (r.secondCluster[key] === cluster) {
          alternatives.push(keysWith(Int32Array.from([...members[cluster], key]).sort()));
        }
      }
      return otherSelections(keysWith(members[cluster]), alternatives);
    },
    ambiguousRow({ shape, params, inputs }, head, row) {
      const s = { clusters: clusterCount(shape, params.clusters), iterations: params.iterations };
      const r = routingOf(shape, inputs, s).heads[head];
      const last = shape.causal ? queryOffset(shape) + row : shape.seq - 1;
      return r.unstable || r.queryTie[row] === 1 ||
        r.firstTiedKey[r.queryCluster[row]] <= last;
    },
    nominalDensity(shape, params) {
      const pairs = densePairsPerHead(shape);
      return Math.min(
        1,
        1 / clusterCount(shape, params.clusters) + windowPairs(shape, params.window) / pairs,
      );
    },
  },
});
