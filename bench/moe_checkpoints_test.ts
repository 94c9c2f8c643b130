// The committed MNIST, Fashion-MNIST and routing-recovery MoE checkpoints reproduce: the bench's accuracy and routing
// figures of each equal what its training log recorded, through the task's own prepare/bind/finish;
// and training is deterministic (same seed, same steps: the same checkpoint bytes).
import { mnistMoe, MODELS_DIR, zipfStream } from "../datasets/mnist_moe/mnist_moe_task.ts";
import { loadMnist } from "../datasets/mnist/mnist.ts";
import { FMNIST_MOE_MODELS, fmnistMoe } from "../datasets/fashion_mnist/fmnist_moe.ts";
import { FASHION_DIR } from "../datasets/fashion_mnist/fashion_mnist.ts";
import { trainMnistMoe } from "../datasets/mnist_moe/train_moe.ts";
import { methodRegistry } from "../methods/mod.ts";
import { moeMethods } from "../methods/moe/mod.ts";
import { assert, assertEquals } from "../tests/assert.ts";
import type { TaskContext } from "./plugin.ts";
import { testGpu } from "../tests/gpu.ts";
import { defaultParams } from "./metadata.ts";
import { sha256Hex } from "./random.ts";
import {
  ROUTING_RECOVERY_MODELS,
  ROUTING_RECOVERY_TEST_SHA256,
  routingRecovery,
} from "../datasets/routing_recovery/routing_recovery_task.ts";
import { generateRoutingRecovery } from "../datasets/routing_recovery/generator.ts";

const methods = methodRegistry();
const cardsIn = (dir: URL, prefix: string) =>
  [...Deno.readDirSync(dir)]
    .filter((f) => f.name.startsWith(`${prefix}-`) && f.name.endsWith(".json"))
    .map((f) => JSON.parse(Deno.readTextFileSync(new URL(f.name, dir))))
    .sort((a, b) => a.name.localeCompare(b.name));
const fashion = await Deno.stat(FASHION_DIR).then(() => true, () => false);
const sources = [
  { task: mnistMoe, prefix: "mnist-moe", cards: cardsIn(MODELS_DIR, "mnist-moe"), ignore: false },
  {
    task: fmnistMoe,
    prefix: "fmnist-moe",
    cards: cardsIn(FMNIST_MOE_MODELS, "fmnist-moe"),
    ignore: !fashion,
  },
];

// The MoE gates: the family's adapter-tuning methods (adapter-transfer) have no gate checkpoints.
const GATE_IDS = new Set(moeMethods.map((m) => m.meta.id));

const ctx: TaskContext = {
  gpu: null,
  seed: 1,
  taskSeed: 1,
  profile: "smoke",
  dump: false,
  minSampleMs: 1,
};

for (const { task, prefix, cards, ignore } of sources) {
  Deno.test(`every MoE method of the registry has a committed ${prefix} E = 8 checkpoint`, () => {
    const names = new Set(cards.map((c) => c.name));
    for (const m of methods.list().filter((m) => GATE_IDS.has(m.meta.id))) {
      const name = m.meta.id === "dense-ffn"
        ? `${prefix}-dense-ffn-e1`
        : `${prefix}-${m.meta.id}-e8`;
      assert(names.has(name), `no checkpoint ${name}`);
    }
  });

  for (const card of cards) {
    Deno.test({
      name: `${card.name}: the bench's test accuracy and routing figures equal its training log`,
      ignore,
      async fn() {
        const method = methods.get(card.gate.method);
        const params = { ...defaultParams(method.meta.parameters), ...card.gate.params };
        const prepared = await task.impl.prepare(
          { engine: "wasm", experts: card.experts, batch: 37, zipf: 0, testImages: 10000 },
          ctx,
        );
        const trial = await prepared.bind(method, params);
        await trial.sample();
        const result = await trial.finish();
        assert(result.check.passed, result.check.description);
        assertEquals(result.metrics.accuracy, card.metrics.testAccuracy);
        for (
          const figure of ["load_cv", "max_vio", "dropped_share", "dead_experts", "active_experts"]
        ) {
          assertEquals(result.metrics[figure], card.metrics[figure], figure);
        }
        trial.dispose();
        prepared.dispose();
      },
    });
  }
}

Deno.test("trainMnistMoe() is deterministic: the same seed gives the same checkpoint bytes", async () => {
  // Noisy top-k (noise drawn from the gate's seed) and Switch (capacity drops) on 30 steps (warm-up: the rate is still small).
  for (const id of ["topk-softmax", "switch"]) {
    const method = methods.get(id);
    const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    try {
      const names: string[] = [];
      for (const dir of dirs) {
        const { name } = await trainMnistMoe({
          method,
          params: defaultParams(method.meta.parameters),
          experts: 4,
          out: new URL(`file://${dir}/`),
          maxSteps: 30,
          trainImages: 2048,
        }, () => {});
        names.push(name);
      }
      const [a, b] = await Promise.all(
        dirs.map((d) => Deno.readFile(`${d}/${names[0]}.safetensors`)),
      );
      assertEquals(a, b);
      const card = JSON.parse(await Deno.readTextFile(`${dirs[0]}/${names[0]}.json`));
      assertEquals(card.steps, 30);
      assert(card.metrics.testAccuracy > 0.2, `${id} after 30 steps: ${card.metrics.testAccuracy}`);
    } finally {
      for (const d of dirs) await Deno.remove(d, { recursive: true });
    }
  }
});

Deno.test("zipfStream() skews digits by 1/(c+1)^s, and s = 0 is the test set in order", async () => {
  const test = await loadMnist("test");
  const plain = zipfStream(test, 300, 0);
  assertEquals(plain.labels, test.labels.subarray(0, 300));
  const skewed = zipfStream(test, 10000, 1.5);
  const counts = new Array(10).fill(0);
  for (const c of skewed.labels) counts[c]++;
  const total = Array.from({ length: 10 }, (_, c) => 1 / (c + 1) ** 1.5).reduce((a, b) => a + b);
  // Digit 0 at 1/total ≈ 0.42, digit 9 at 0.0316/total ≈ 0.013.
  assert(Math.abs(counts[0] / 10000 - 1 / total) < 0.02, `digit 0: ${counts[0]}`);
  assert(Math.abs(counts[9] / 10000 - 10 ** -1.5 / total) < 0.006, `digit 9: ${counts[9]}`);
  // Every drawn image is a test image of its label.
  const d = 784;
  for (let i = 0; i < 50; i++) {
    const img = skewed.images.subarray(i * d, i * d + d);
    let found = false;
    for (let r = 0; r < test.count && !found; r++) {
      if (test.labels[r] !== skewed.labels[i]) continue;
      found = test.images.subarray(r * d, r * d + d).every((v, j) => v === img[j]);
    }
    assert(found, `image ${i} is not a test image of digit ${skewed.labels[i]}`);
  }
});

Deno.test({
  name: "mnist-moe on WebGPU: every gate's layer passes the gate at an odd batch, skewed stream",
  ignore: !testGpu,
  async fn() {
    const prepared = await mnistMoe.impl.prepare(
      { engine: "webgpu", experts: 8, batch: 37, zipf: 1.5, testImages: 500 },
      { ...ctx, gpu: testGpu },
    );
    for (const method of methods.list().filter((m) => GATE_IDS.has(m.meta.id))) {
      const trial = await prepared.bind(method, defaultParams(method.meta.parameters));
      await trial.sample();
      const result = await trial.finish();
      assert(result.check.passed, `${method.meta.id}: ${result.check.description}`);
      assert(result.sparsity.kernel!.startsWith("webgpu"));
      trial.dispose();
    }
    prepared.dispose();
  },
});

const routingCards = cardsIn(ROUTING_RECOVERY_MODELS, "routing-recovery");
const partitionOf = (card: { data: { partition?: string } }) => card.data.partition ?? "sign";

for (const partition of ["sign", "voronoi"]) {
  const prefix = partition === "sign" ? "routing-recovery" : `routing-recovery-${partition}`;
  Deno.test(`every MoE method of the registry has a committed ${prefix} E = 8 checkpoint`, () => {
    const names = new Set(routingCards.map((c) => c.name));
    for (const m of methods.list().filter((m) => GATE_IDS.has(m.meta.id))) {
      const name = m.meta.id === "dense-ffn"
        ? `${prefix}-dense-ffn-e1`
        : `${prefix}-${m.meta.id}-e8`;
      assert(names.has(name), `no checkpoint ${name}`);
    }
  });
}

Deno.test("routing-recovery's sign test split is the one its checkpoints were scored on", async () => {
  const test = generateRoutingRecovery("test");
  assertEquals(await sha256Hex(test.x, test.y), ROUTING_RECOVERY_TEST_SHA256);
  for (const card of routingCards.filter((c) => partitionOf(c) === "sign")) {
    assertEquals(card.data.testSha256, ROUTING_RECOVERY_TEST_SHA256);
  }
});

for (const card of routingCards) {
  Deno.test(`${card.name}: the bench's ARI, error and routing figures equal its training log`, async () => {
    const method = methods.get(card.gate.method);
    const params = { ...defaultParams(method.meta.parameters), ...card.gate.params };
    const prepared = await routingRecovery.impl.prepare(
      {
        partition: partitionOf(card),
        engine: "wasm",
        experts: card.experts,
        batch: 37,
        testPoints: 4096,
      },
      ctx,
    );
    const trial = await prepared.bind(method, params);
    await trial.sample();
    const result = await trial.finish();
    assert(result.check.passed, result.check.description);
    for (
      const figure of [
        "ari",
        "ari_ci95_low",
        "ari_ci95_high",
        "mse",
        "load_cv",
        "max_vio",
        "dropped_share",
        "dead_experts",
        "active_experts",
      ]
    ) {
      assertEquals(result.metrics[figure], card.metrics[figure], figure);
    }
    trial.dispose();
    prepared.dispose();
  });
}
