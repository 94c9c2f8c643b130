// Task `fmnist-mlp-accuracy`: the pruned fmnist-mlp's test accuracy and forward latency.
import { defineImageMlpTask } from "../mnist/mlp_accuracy_task.ts";
import { FASHION_FILES, loadFashionMnist } from "./fashion_mnist.ts";

export const fmnistMlpAccuracy = defineImageMlpTask({
  id: "fmnist-mlp-accuracy",
  title: "Fashion-MNIST MLP accuracy under pruning",
  description:
    "The committed 784-300-100-10 reference MLP (datasets/fashion_mnist/models/fmnist-mlp) pruned with calibration images drawn from the training set by a seeded shuffle (1,024 by default), scored on the Fashion-MNIST test set; batch-1 and batch-256 forward latency on WebGPU and on the CPU's WebAssembly SIMD kernels, each layer in the format (dense, CSR, N:M, shrunk) fastest on it. Needs Debian's dataset-fashion-mnist.",
  modelName: "fmnist-mlp",
  modelDir: new URL("./models/", import.meta.url),
  dataset: {
    id: "fashion-mnist",
    version: "0.0.20200523",
    source:
      "Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1 (datasets/fashion_mnist/README.md)",
    license: "MIT (Zalando SE)",
    sha256: FASHION_FILES.test.images[1],
  },
  load: loadFashionMnist,
  // MNIST's task carries the family's quick sweep and batch 1; here quick runs every method's
  // defaults at batch 256.
  quickSweep: false,
  quickBatches: [256],
});
