// The committed reference MLPs load, and score what their cards say on the test sets.
import { assert, assertAlmostEquals } from "../../tests/assert.ts";
import { FASHION_DIR, loadFashionMnist } from "../fashion_mnist/fashion_mnist.ts";
import { loadMnist } from "./mnist.ts";
import { loadReferenceMlp } from "./reference_mlp.ts";
import { mlpAccuracy } from "./train_mlp.ts";
import { imagesAsFloat } from "./idx.ts";
import { exportMlpOnnx } from "../../bench/nn/onnx.ts";
import { ortMlpLogits, ortSession } from "../../bench/nn/ort.ts";

Deno.test("mnist-mlp scores its card's test accuracy (≥ 98.0%)", async () => {
  const { model, card } = await loadReferenceMlp(
    new URL("./models/", import.meta.url),
    "mnist-mlp",
  );
  const test = await loadMnist("test");
  const accuracy = mlpAccuracy(model, test);
  assertAlmostEquals(accuracy, card.metrics.testAccuracy as number, 1e-12);
  assert(accuracy >= 0.98, `test accuracy ${accuracy}`);
  // A fixed slice: the first 1,000 test images.
  assert(mlpAccuracy(model, test, 0, 1000) >= 0.97);
});

const fashion = await Deno.stat(FASHION_DIR).then(() => true, () => false);

Deno.test({
  name: "fmnist-mlp scores its card's test accuracy (≥ 88%)",
  ignore: !fashion,
  async fn() {
    const dir = new URL("../fashion_mnist/models/", import.meta.url);
    const { model, card } = await loadReferenceMlp(dir, "fmnist-mlp");
    const test = await loadFashionMnist("test");
    const accuracy = mlpAccuracy(model, test);
    assertAlmostEquals(accuracy, card.metrics.testAccuracy as number, 1e-12);
    assert(accuracy >= 0.88, `test accuracy ${accuracy}`);
  },
});

Deno.test("mnist-mlp exported to ONNX gives our logits in onnxruntime-web within 1e-4", async () => {
  const { model } = await loadReferenceMlp(new URL("./models/", import.meta.url), "mnist-mlp");
  const x = imagesAsFloat(await loadMnist("test"), 0, 256);
  const session = await ortSession(exportMlpOnnx(model));
  const theirs = await ortMlpLogits(session, x, 256);
  const ours = model.forward(x, 256);
  let max = 0;
  for (let i = 0; i < ours.length; i++) max = Math.max(max, Math.abs(ours[i] - theirs[i]));
  assert(max <= 1e-4, `max |diff| ${max}`);
});
