import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { DatasetUnavailableError } from "../pinned_files.ts";
import { FASHION_DIR, loadFashionMnist } from "./fashion_mnist.ts";

const installed = await Deno.stat(FASHION_DIR).then(() => true, () => false);

Deno.test({
  name: "loadFashionMnist() gives the pinned 60,000 / 10,000 images",
  ignore: !installed,
  async fn() {
    const train = await loadFashionMnist("train"), test = await loadFashionMnist("test");
    assertEquals([train.count, test.count, test.rows, test.cols], [60000, 10000, 28, 28]);
    assertEquals([...test.labels.subarray(0, 5)], [9, 2, 1, 1, 6]);
  },
});

Deno.test({
  name: "loadFashionMnist() names `apt-get install dataset-fashion-mnist` when it is missing",
  ignore: installed,
  async fn() {
    await assertRejects(
      () => loadFashionMnist("test"),
      DatasetUnavailableError,
      "apt-get install dataset-fashion-mnist",
    );
  },
});

if (!installed) {
  console.warn(
    `Fashion-MNIST tests that need ${FASHION_DIR} are ignored: apt-get install dataset-fashion-mnist`,
  );
}
