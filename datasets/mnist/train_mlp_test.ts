import { assert, assertEquals } from "../../tests/assert.ts";
import { loadMnist } from "./mnist.ts";
import { trainImageMlp } from "./train_mlp.ts";

Deno.test("trainImageMlp() is deterministic: the same seed gives the same checkpoint bytes", async () => {
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    for (const dir of dirs) {
      await trainImageMlp({
        name: "t",
        dataset: { id: "mnist", source: "test" },
        load: loadMnist,
        out: new URL(`file://${dir}/`),
        maxSteps: 15,
      }, () => {});
    }
    const [a, b] = await Promise.all(dirs.map((d) => Deno.readFile(`${d}/t.safetensors`)));
    assertEquals(a, b);
    const card = JSON.parse(await Deno.readTextFile(`${dirs[0]}/t.json`));
    assert(card.metrics.testAccuracy > 0.1, `after 15 steps: ${card.metrics.testAccuracy}`);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});
