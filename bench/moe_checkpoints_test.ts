// The committed MNIST MoE checkpoints reproduce: the bench's accuracy and routing figures of
// each equal what its training log recorded, through the task's own prepare/bind/finish; and
// training is deterministic (same seed, same steps: the same checkpoint bytes).
import { mnistMoe } from "../datasets/mnist_moe/mnist_moe_task.ts";
import { MODELS_DIR } from "../datasets/mnist_moe/mnist_moe_task.ts";
import { trainMnistMoe } from "../datasets/mnist_moe/train_moe.ts";
import { methodRegistry } from "../methods/mod.ts";
import { assert, assertEquals } from "../tests/assert.ts";
import type { TaskContext } from "./plugin.ts";
import { defaultParams } from "./metadata.ts";

const methods = methodRegistry();
const cards = [...Deno.readDirSync(MODELS_DIR)]
  .filter((f) => f.name.endsWith(".json"))
  .map((f) => JSON.parse(Deno.readTextFileSync(new URL(f.name, MODELS_DIR))))
  .sort((a, b) => a.name.localeCompare(b.name));

const ctx: TaskContext = {
  gpu: null,
  seed: 1,
  taskSeed: 1,
  profile: "smoke",
  dump: false,
  minSampleMs: 1,
};

Deno.test("every MoE method of the registry has a committed E = 8 checkpoint", () => {
  const names = new Set(cards.map((c) => c.name));
  for (const m of methods.list().filter((m) => m.meta.family === "moe")) {
    assert(names.has(`mnist-moe-${m.meta.id}-e8`), `no checkpoint for ${m.meta.id}`);
  }
});

for (const card of cards) {
  Deno.test(`${card.name}: the bench's test accuracy and routing figures equal its training log`, async () => {
    const method = methods.get(card.gate.method);
    const params = { ...defaultParams(method.meta.parameters), ...card.gate.params };
    const prepared = await mnistMoe.impl.prepare(
      { experts: card.experts, batch: 37, testImages: 10000 },
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
  });
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
