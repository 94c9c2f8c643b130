// The staged (upcycling) recipe: the copy makes every expert the dense FFN exactly and the MoE
// model compute the dense model's function; the MoE stage leaves the stem and head frozen; a tiny
// recipe trains to the same bytes twice.
import { defineMoeMethod, SoftmaxRouter } from "../../bench/families/moe/mod.ts";
import { loadCheckpoint } from "../../bench/nn/checkpoint.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { assert, assertEquals } from "../../tests/assert.ts";
import { createModel, MOE_MODEL } from "./moe_model.ts";
import {
  createDenseStageModel,
  trainUpcycledMoe,
  upcycleDenseModel,
  type UpcyclingStages,
} from "./train_upcycled_moe.ts";

// Datasets do not import methods, so a fixture gate stands for the staged one: a trainable softmax
// router mixing every expert (weights summing to 1, as MoE-LLaVA's renormalized top-2 do), so an
// upcycled model computes the dense model's function. The real gate's checkpoints are reproduced
// by bench/moe_checkpoints_test.ts.
const softMix = defineMoeMethod({
  id: "soft-mix-fixture",
  family: "moe",
  title: "Softmax mixture (test fixture)",
  description: "every expert, weighted by a softmax router",
  paper: { title: "None", year: 2024, link: "https://example.org" },
  fidelity: { level: "baseline", reason: "a test fixture" },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: [] },
  impl: {
    trainedParams: [],
    nominalActive: (experts) => experts,
    createGate(shape, _params, ctx) {
      const router = new SoftmaxRouter(shape, ctx.seed);
      return {
        parameters: () => [router.router.weight],
        route({ x, tokens }, mode) {
          const p = router.probabilities(x, tokens, mode);
          const experts = Int32Array.from({ length: p.length }, (_, i) => i % shape.experts);
          return { tokens, k: shape.experts, experts, weights: p, auxLoss: 0, probabilities: p };
        },
        backward: (dWeights) => router.backward(dWeights, "soft-mix-fixture"),
      };
    },
  },
});
const params = {};
const stages: UpcyclingStages = { denseShare: 0.5, moeStageTrains: "moe-layer" };

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = normal(mulberry32(seed));
  return Float32Array.from({ length: n }, () => g() * scale);
}

Deno.test("upcycleDenseModel() copies the FFN into every expert exactly: the MoE computes the dense function", () => {
  const dense = createDenseStageModel();
  dense.init(3);
  // Non-zero biases, so a bias left behind would show.
  for (const p of dense.parameters()) {
    if (p.name.endsWith(".bias")) p.data.set(randn(p.size, 5, 0.1));
  }
  for (const experts of [4, 8, 16]) {
    const moe = createModel(softMix, experts, params);
    moe.init(11);
    const router = moe.layer.gate.parameters()[0].data.slice();
    upcycleDenseModel(dense, moe);
    const ffn = dense.layer.experts[0].parameters();
    for (const expert of moe.layer.experts) {
      expert.parameters().forEach((p, i) => assertEquals(p.data, ffn[i].data, p.name));
    }
    for (const [a, b] of [[dense.stem, moe.stem], [dense.head, moe.head]]) {
      a.parameters().forEach((p, i) => assertEquals(b.parameters()[i].data, p.data, p.name));
    }
    // The router keeps its seeded init (not zeros, not copied from anywhere).
    assertEquals(moe.layer.gate.parameters()[0].data, router);
    assert(router.some((v) => v !== 0));
    // Weights summing to 1: Σ w·FFN = FFN up to float32 rounding.
    const rows = 97, x = randn(rows * MOE_MODEL.inputs, experts).map(Math.abs);
    const a = dense.forward(x, rows, new Uint32Array(rows)).logits;
    const b = moe.forward(x, rows, new Uint32Array(rows)).logits;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    assert(worst < 1e-4, `E = ${experts}: max |dense − upcycled| ${worst}`);
  }
  const wide = createModel(softMix, 4, params);
  const other = createModel(softMix, 4, params);
  let message = "";
  try {
    upcycleDenseModel(wide, other);
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("the dense model has one FFN"), message);
});

Deno.test("trainUpcycledMoe() is deterministic, freezes the stem and head, and records both stages", async () => {
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const names: string[] = [];
    let atUpcycle: Float32Array[] = [];
    for (const dir of dirs) {
      const { name } = await trainUpcycledMoe({
        method: softMix,
        params,
        stages,
        experts: 4,
        out: new URL(`file://${dir}/`),
        recipe: { epochs: 2 },
        trainImages: 1024,
        onUpcycle: (dense, moe) => {
          const ffn = dense.layer.experts[0].parameters();
          for (const e of moe.layer.experts) {
            e.parameters().forEach((p, i) => assertEquals(p.data, ffn[i].data));
          }
          atUpcycle = [...moe.stem.parameters(), ...moe.head.parameters()].map((p) =>
            p.data.slice()
          );
        },
      }, () => {});
      names.push(name);
    }
    const [a, b] = await Promise.all(
      dirs.map((d) => Deno.readFile(`${d}/${names[0]}.safetensors`)),
    );
    assertEquals(a, b);
    const card = JSON.parse(await Deno.readTextFile(`${dirs[0]}/${names[0]}.json`));
    // 2 epochs × ⌈1024 / 128⌉ = 16 steps, half of them dense.
    assertEquals([card.steps, card.stages[0].steps, card.stages[1].steps], [16, 8, 8]);
    assert(card.stages[0].trainFlops > 0 && card.stages[1].trainFlops > 0);
    assertEquals(card.trainFlops, card.stages[0].trainFlops + card.stages[1].trainFlops);
    // The MoE stage trained the layer only: the checkpoint's stem and head are the upcycled ones.
    const model = createModel(softMix, 4, params);
    loadCheckpoint(model.parameters(), a);
    [...model.stem.parameters(), ...model.head.parameters()].forEach((p, i) =>
      assertEquals(p.data, atUpcycle[i], p.name)
    );
    const expert0 = model.layer.experts[0].parameters()[0].data;
    const expert1 = model.layer.experts[1].parameters()[0].data;
    assert(expert0.some((v, i) => v !== expert1[i]), "the experts never left their common copy");
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});
