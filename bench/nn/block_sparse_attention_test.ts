// The block-sparse attention layer against dense attention and a brute-force reference, and the
// gradients of its sparse path and SSA alignment loss against finite differences.
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { BlockSparseSelfAttention } from "./block_sparse_attention.ts";
import { Gpt } from "./gpt.ts";
import { CausalSelfAttention, softmaxCrossEntropy } from "./layers.ts";
import { initNormal, type Param } from "./param.ts";
import { mulberry32 } from "../random.ts";

function randomInput(n: number, seed: number): Float32Array {
  const u = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 2 * u() - 1);
}

function pair(dim: number, heads: number, sparse = { blockSize: 4, blocks: 2 }) {
  const dense = new CausalSelfAttention("a", dim, heads);
  const block = new BlockSparseSelfAttention("a", dim, heads, sparse);
  dense.parameters().forEach((p, k) => {
    initNormal(p, 0.5, 11 + k);
    block.parameters()[k].data.set(p.data);
  });
  return { dense, block };
}

/** Dense softmax attention with -∞ outside the brute-force selection, in float64. */
function referenceSparse(
  layer: BlockSparseSelfAttention,
  x: Float32Array,
  batch: number,
  seq: number,
): Float64Array {
  const d = layer.dim, h = layer.heads, hd = d / h, bs = layer.sparse.blockSize;
  const qkv = layer.qkv.forward(x, batch * seq);
  const at = (b: number, i: number, part: number, head: number, c: number) =>
    qkv[(b * seq + i) * 3 * d + part * d + head * hd + c];
  const att = new Float64Array(batch * seq * d);
  for (let b = 0; b < batch; b++) {
    for (let head = 0; head < h; head++) {
      for (let i = 0; i < seq; i++) {
        const own = Math.floor(i / bs);
        const candidates = Array.from({ length: own }, (_, blk) => {
          let score = 0;
          for (let c = 0; c < hd; c++) {
            let mean = 0;
            for (let j = blk * bs; j < (blk + 1) * bs; j++) mean += at(b, j, 1, head, c);
            score += at(b, i, 0, head, c) * mean / bs;
          }
          return { blk, score };
        }).sort((p, q) => q.score - p.score || p.blk - q.blk);
        const kept = new Set([
          own,
          ...candidates.slice(0, layer.sparse.blocks - 1).map((c) => c.blk),
        ]);
        const w = new Float64Array(i + 1).fill(-Infinity);
        for (let j = 0; j <= i; j++) {
          if (!kept.has(Math.floor(j / bs))) continue;
          let s = 0;
          for (let c = 0; c < hd; c++) s += at(b, i, 0, head, c) * at(b, j, 1, head, c);
          w[j] = s / Math.sqrt(hd);
        }
        const max = Math.max(...w);
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += w[j] = Math.exp(w[j] - max);
        for (let c = 0; c < hd; c++) {
          let o = 0;
          for (let j = 0; j <= i; j++) o += w[j] / sum * at(b, j, 2, head, c);
          att[(b * seq + i) * d + head * hd + c] = o;
        }
      }
    }
  }
  const out = layer.proj.forward(Float32Array.from(att), batch * seq);
  return Float64Array.from(out);
}

Deno.test("BlockSparseSelfAttention's full path is CausalSelfAttention, bit for bit", () => {
  const { dense, block } = pair(12, 3);
  const x = randomInput(2 * 9 * 12, 1), dy = randomInput(2 * 9 * 12, 2);
  assertEquals(block.forward(x, 2, 9), dense.forward(x, 2, 9));
  assertEquals(block.backward(dy), dense.backward(dy));
  block.parameters().forEach((p, k) => assertEquals(p.grad, dense.parameters()[k].grad, p.name));
});

Deno.test("BlockSparseSelfAttention keeping every block is its full path", () => {
  const { block } = pair(8, 2, { blockSize: 3, blocks: 5 });
  const x = randomInput(11 * 8, 3);
  const full = block.forward(x, 1, 11);
  block.path = "sparse";
  assertEquals(block.forward(x, 1, 11), full);
  assertEquals(block.density(11), 1);
});

Deno.test("BlockSparseSelfAttention's sparse path matches a brute-force top-k block mask", () => {
  // Odd shapes: a last block shorter than the others, and a budget between 1 and all blocks.
  for (
    const [dim, heads, batch, seq, blockSize, blocks] of [
      [8, 2, 2, 13, 4, 2],
      [12, 3, 1, 17, 3, 3],
      [6, 1, 1, 9, 2, 1],
    ]
  ) {
    const { dense, block } = pair(dim, heads, { blockSize, blocks });
    block.path = "sparse";
    const x = randomInput(batch * seq * dim, seq);
    const got = block.forward(x, batch, seq), want = referenceSparse(block, x, batch, seq);
    let err = 0;
    for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    assert(err < 1e-5, `seq ${seq} block ${blockSize} keep ${blocks}: max |err| ${err}`);
    // And it is not the dense answer (the mask drops something at these budgets).
    const full = dense.forward(x, batch, seq);
    assert(full.some((v, i) => Math.abs(v - got[i]) > 1e-4), "sparse equals dense");
  }
});

Deno.test("BlockSparseSelfAttention measures the full-attention mass outside each budget", () => {
  const { block } = pair(8, 2, { blockSize: 4, blocks: 2 });
  block.measureBudgets = [1, 2, 4];
  block.forward(randomInput(16 * 8, 9), 1, 16);
  const [one, two, four] = block.dropped;
  // Queries seeing more blocks than the budget, per head: blocks 1–3 for budget 1, 2–3 for 2.
  assertEquals([one.queries[0], two.queries[0], four.queries[0]], [2 * 12, 2 * 8, 0]);
  assert(one.selected[0] > two.selected[0] && two.selected[0] > 0, "more blocks drop less");
  for (const m of [one, two]) assert(m.oracle[0] <= m.selected[0] + 1e-9, "oracle is a bound");
});

Deno.test("BlockSparseSelfAttention refuses a budget of no blocks", () => {
  assertThrows(
    () => new BlockSparseSelfAttention("a", 8, 2, { blockSize: 4, blocks: 0 }),
    RangeError,
    "blocks must be a positive integer",
  );
});

/** |analytic − numeric| ≤ tol·max(0.1, |numeric|) + 1e-4 on seeded entries of every parameter. */
function checkGradients(params: Param[], loss: () => number, backward: () => void): void {
  const eps = 1e-3, tol = 2e-2, pick = mulberry32(7);
  for (const p of params) p.grad.fill(0);
  backward();
  for (const p of params) {
    for (let c = 0; c < 4; c++) {
      const i = Math.floor(pick() * p.size), old = p.data[i];
      p.data[i] = old + eps;
      const up = loss();
      p.data[i] = old - eps;
      const down = loss();
      p.data[i] = old;
      const numeric = (up - down) / (2 * eps), analytic = p.grad[i];
      assert(
        Math.abs(analytic - numeric) <= tol * Math.max(1e-1, Math.abs(numeric)) + 1e-4,
        `${p.name}[${i}]: analytic ${analytic} vs numeric ${numeric}`,
      );
    }
  }
}

for (const path of ["sparse", "full"] as const) {
  Deno.test(`Gpt with block-sparse attention and SSA alignment: gradients match finite differences (${path} path)`, () => {
    const layers: BlockSparseSelfAttention[] = [];
    const model = new Gpt({ vocab: 11, context: 9, dim: 12, heads: 3, layers: 2 }, {
      attention: (name, dim, heads) => {
        const a = new BlockSparseSelfAttention(name, dim, heads, { blockSize: 3, blocks: 2 });
        a.path = path;
        // Large enough that the alignment term's gradient is visible beside cross-entropy's.
        a.alignWeight = 5;
        a.freezeSelection = true;
        layers.push(a);
        return a;
      },
    });
    model.init(3);
    // Attention weights big enough that full and sparse outputs differ well above rounding.
    for (const a of layers) initNormal(a.qkv.weight, 0.2, 17 + layers.indexOf(a));
    const u = mulberry32(5), batch = 2, seq = 9;
    const ids = Int32Array.from({ length: batch * seq }, () => Math.floor(u() * 11));
    const targets = Int32Array.from({ length: batch * seq }, () => Math.floor(u() * 11));
    const loss = () => {
      const ce = softmaxCrossEntropy(model.forward(ids, batch), targets).loss;
      // Stop-gradients halve the alignment's gradient: both terms' gradients sum to that of one
      // weight·mean SmoothL1(full − sparse), which finite differences of half the value see.
      return ce + layers.reduce((s, a) => s + a.alignLoss / 2, 0);
    };
    checkGradients(
      model.parameters(),
      loss,
      () => model.backward(softmaxCrossEntropy(model.forward(ids, batch), targets).dlogits),
    );
    assert(layers.every((a) => a.alignLoss > 1e-4), "the alignment loss is not trivially zero");
  });
}
