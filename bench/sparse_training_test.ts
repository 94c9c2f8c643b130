// Sparse training end to end, where methods and the MNIST loop meet (a test may see both): short
// runs are byte-deterministic, the FLOPs count equals a hand count of the run (BDWP's ∂x mask
// included), and the bench's evaluation of every committed sparse-training checkpoint reproduces
// its card's accuracy.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../tests/assert.ts";
import { sparseTrainingOf, type TrainedCard } from "./families/pruning/mod.ts";
import { loadMnist } from "../datasets/mnist/mnist.ts";
import { mnistMlpAccuracy } from "../datasets/mnist/mnist_mlp_accuracy.ts";
import { fmnistMlpAccuracy } from "../datasets/fashion_mnist/fmnist_mlp_accuracy.ts";
import { FASHION_DIR } from "../datasets/fashion_mnist/fashion_mnist.ts";
import { trainSparseMlp } from "../datasets/mnist/train_sparse_mlp.ts";
import { pruningMethods } from "../methods/pruning/mod.ts";
import { astSparseTraining } from "../methods/pruning/ast.ts";
import { bdwpSparseTraining } from "../methods/pruning/bdwp.ts";
import { castSparseTraining } from "../methods/pruning/cast.ts";
import { randomInitSparseTraining } from "../methods/pruning/random_init.ts";
import { riglSparseTraining } from "../methods/pruning/rigl.ts";
import { srSteSparseTraining } from "../methods/pruning/sr_ste.ts";
import type { Method, ParamValues } from "./metadata.ts";
import { SkipCase } from "./plugin.ts";

const fashion = await Deno.stat(FASHION_DIR).then(() => true, () => false);
/** Each image task with sparse-training checkpoints: its models folder and checkpoint prefix. */
const TRAINED = [
  {
    task: mnistMlpAccuracy,
    models: new URL("../datasets/mnist/models/", import.meta.url),
    prefix: "mnist-mlp",
    ignore: false,
  },
  {
    task: fmnistMlpAccuracy,
    models: new URL("../datasets/fashion_mnist/models/", import.meta.url),
    prefix: "fmnist-mlp",
    ignore: !fashion,
  },
];

/** One epoch over the first 1,000 training images: 8 steps, 7 of 128 rows and one of 104. */
async function shortRun(method: Method, params: ParamValues, dir: string) {
  return await trainSparseMlp({
    name: "t",
    method: { id: method.meta.id, version: method.meta.version },
    training: sparseTrainingOf(method)!,
    params,
    dataset: { id: "mnist", source: "test" },
    load: loadMnist,
    out: new URL(`file://${dir}/`),
    trainImages: 1000,
    recipe: { epochs: 1, warmupSteps: 2 },
  }, () => {});
}

const RIGL = {
  sparsity: "90%",
  allocation: "erk",
  width: 1,
  updateEvery: 3,
  dropFraction: 0.3,
  endFraction: 0.75,
  seed: 0,
};

Deno.test("a short sparse-training run is byte-deterministic (RigL with updates, SR-STE 2:4)", async () => {
  for (
    const [method, params] of [
      [riglSparseTraining, RIGL],
      [srSteSparseTraining, { pattern: "2:4", lambda: 2e-4, width: 1 }],
    ] as const
  ) {
    const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    try {
      const cards = [];
      for (const dir of dirs) cards.push(await shortRun(method, params, dir));
      const [a, b] = await Promise.all(dirs.map((d) => Deno.readFile(`${d}/t.safetensors`)));
      assertEquals(a, b);
      assertEquals(cards[0].metrics, cards[1].metrics);
      assertEquals(cards[0].training.flops, cards[1].training.flops);
      assert(
        cards[0].metrics.testAccuracy > 0.3,
        `after 8 steps: ${cards[0].metrics.testAccuracy}`,
      );
    } finally {
      for (const d of dirs) await Deno.remove(d, { recursive: true });
    }
  }
});

Deno.test("the training FLOPs count equals a hand count of the run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sizes = [784 * 300, 300 * 100, 100 * 10], all = sizes.reduce((a, b) => a + b, 0);
    // RigL: T_end = floor(0.75 · 8) = 6, ΔT = 3, so step 3 alone (128 rows) has a dense ∂W. Its
    // updates keep each layer's kept count, so forward and ∂x count the same weights throughout.
    const rigl = await shortRun(riglSparseTraining, RIGL, dir);
    const kept = Object.entries(rigl.density as Record<string, number>)
      .reduce((n, [, d], i) => n + Math.round(d * sizes[i]), 0);
    assertEquals(rigl.training.steps, 8);
    assertEquals(rigl.training.examples, 1000);
    assertEquals(rigl.training.flops.forward, 2 * 1000 * kept);
    assertEquals(rigl.training.flops.backwardInput, 2 * 1000 * kept);
    assertEquals(rigl.training.flops.backwardWeight, 2 * 128 * all + 2 * (1000 - 128) * kept);
    assertEquals((rigl.trainer as Record<string, number>).topologyUpdates, 1);
    assertEquals(rigl.training.denseFlops, 6 * 1000 * all);
    // Random pruning at initialization: all three products sparse on every step.
    const random = await shortRun(randomInitSparseTraining, {
      sparsity: "90%",
      allocation: "uniform",
      width: 1,
      seed: 0,
    }, dir);
    const uniformKept = sizes.reduce((n, s) => n + Math.round(0.1 * s), 0);
    assertEquals(random.training.flops.total, 6 * 1000 * uniformKept);
    // BDWP 2:4: the forward keeps half of every row; ∂x half of every column's groups of 4
    // outputs, but fc3's 10 outputs group as 4, 4, 2, so 6 of 10 there; ∂W dense.
    const bdwp = await shortRun(
      bdwpSparseTraining,
      { pattern: "2:4", lambda: 2e-4, width: 1 },
      dir,
    );
    assertEquals(bdwp.training.flops.forward, 2 * 1000 * (all / 2));
    assertEquals(bdwp.training.flops.backwardInput, 2 * 1000 * (784 * 150 + 300 * 50 + 100 * 6));
    assertEquals(bdwp.training.flops.backwardWeight, 2 * 1000 * all);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a distilling run counts the teacher's forward and records the teacher it read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const all = 784 * 300 + 300 * 100 + 100 * 10;
    const models = new URL("../datasets/mnist/models/", import.meta.url);
    const run = (method: Method, params: ParamValues) =>
      trainSparseMlp({
        name: "t",
        method: { id: method.meta.id, version: method.meta.version },
        training: sparseTrainingOf(method)!,
        params,
        dataset: { id: "mnist", source: "test" },
        load: loadMnist,
        out: new URL(`file://${dir}/`),
        trainImages: 1000,
        recipe: { epochs: 1, warmupSteps: 2 },
        teacherModels: { dir: models, prefix: "mnist-mlp" },
      }, () => {});
    // CAST: every product dense (no mask in the forward) plus the teacher's forward.
    const cast = await run(castSparseTraining, {
      pattern: "2:4",
      lambda: 1,
      maskEvery: 10,
      init: "scratch",
      width: 1,
    });
    assertEquals(cast.training.flops.teacherForward, 2 * 1000 * all);
    assertEquals(cast.training.flops.total, 8 * 1000 * all);
    assertEquals((cast.teacher as { name: string }).name, "mnist-mlp-dense-trained-w1");
    // AST from the dense model: forward and ∂x over half the weights, ∂W dense, the teacher.
    const ast = await run(astSparseTraining, {
      pattern: "2:4",
      lambda: 2e-4,
      init: "dense",
      kd: 1,
      width: 1,
    });
    assertEquals(ast.training.flops.total, 2 * 1000 * (all / 2 + all / 2 + all + all));
    // Started from the 98.3% teacher, 8 steps leave it far above a from-scratch start.
    assert(ast.metrics.testAccuracy > 0.9, `from dense: ${ast.metrics.testAccuracy}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Every committed sparse-training card in a models folder. */
async function committedCards(models: URL): Promise<TrainedCard[]> {
  const cards: TrainedCard[] = [];
  for await (const entry of Deno.readDir(models)) {
    if (!entry.name.endsWith(".json")) continue;
    const card = JSON.parse(await Deno.readTextFile(new URL(entry.name, models)));
    if (card.training && card.method) cards.push(card);
  }
  return cards.sort((a, b) => a.name.localeCompare(b.name));
}

for (const { task, models, prefix, ignore } of TRAINED) {
  Deno.test({
    name:
      `the bench's evaluation of every committed ${prefix} sparse-training checkpoint reproduces its card`,
    ignore,
    async fn() {
      const cards = await committedCards(models);
      assert(cards.length > 0, `no sparse-training cards in ${prefix}'s models folder`);
      const prepared = await task.impl.prepare({
        engine: "wasm",
        batch: 1,
        testImages: 10000,
        calibration: 1,
      }, { gpu: null, seed: 0, taskSeed: 0, profile: "smoke", dump: false, minSampleMs: 10 });
      try {
        for (const card of cards) {
          const { id, params } = (card as unknown as {
            method: { id: string; params: ParamValues };
          }).method;
          const method = pruningMethods.find((m) => m.meta.id === id);
          assert(method, `${card.name}: no registered method '${id}'`);
          // The method's recipe for the card's parameters names this very checkpoint.
          assertEquals(`${prefix}-${sparseTrainingOf(method)!.recipe(params)}`, card.name);
          const metrics = await prepared.referenceMetrics(method, params);
          assertEquals(metrics.accuracy, card.metrics.testAccuracy, card.name);
          assertEquals(metrics.card_test_accuracy, card.metrics.testAccuracy);
          assertEquals(metrics.train_flops, card.training.flops.total);
          assert(
            Math.abs(metrics.accuracy_onnxruntime - metrics.accuracy) <= 1e-4,
            `${card.name}: onnxruntime ${metrics.accuracy_onnxruntime} vs ${metrics.accuracy}`,
          );
        }
      } finally {
        prepared.dispose();
      }
    },
  });
}

Deno.test("a sparse-training method without a committed checkpoint is skipped with the command", async () => {
  const prepared = await mnistMlpAccuracy.impl.prepare({
    engine: "wasm",
    batch: 1,
    testImages: 100,
    calibration: 1,
  }, { gpu: null, seed: 0, taskSeed: 0, profile: "smoke", dump: false, minSampleMs: 10 });
  try {
    const error = await assertRejects(
      () => prepared.bind(riglSparseTraining, { ...RIGL, seed: 7 }),
      SkipCase,
      "mnist-mlp-rigl-erk-s90-w1-dt3-seed7",
    );
    assertStringIncludes(error.message, "deno task train");
  } finally {
    prepared.dispose();
  }
});
