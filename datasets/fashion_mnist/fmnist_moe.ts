// Task `fmnist-moe`: the image MoE task of datasets/mnist_moe/ on Fashion-MNIST, over the
// `fmnist-moe-<gate>` checkpoints in ./models/ (same model and recipe as `mnist-moe`).
import { defineImageMoeTask } from "../mnist_moe/mnist_moe_task.ts";
import { FASHION_FILES, loadFashionMnist } from "./fashion_mnist.ts";

export const FMNIST_MOE_MODELS = new URL("./models/", import.meta.url);

export const fmnistMoe = defineImageMoeTask({
  id: "fmnist-moe",
  title: "Fashion-MNIST MoE classifier",
  description:
    "The mnist-moe model and recipe (784 → 64 → E experts 64→32→64 with a residual → 10; datasets/mnist_moe/README.md) trained per gate on Fashion-MNIST; scored on its test split and a Zipf-skewed stream of its classes, the MoE layer's forward timed against the dense mixture's. Needs Debian's dataset-fashion-mnist.",
  prefix: "fmnist-moe",
  modelsDir: FMNIST_MOE_MODELS,
  dataset: {
    id: "fashion-mnist",
    version: "0.0.20200523",
    source:
      "Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1 (datasets/fashion_mnist/README.md)",
    license: "MIT (Zalando SE)",
    sha256: FASHION_FILES.test.images[1],
  },
  load: loadFashionMnist,
  // mnist-moe carries the family's sweep, both engines and the skewed stream in quick.
  quick: { sweep: false, engine: ["wasm"], zipf: [0] },
});
