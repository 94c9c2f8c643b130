// The shared sparse-training budget's batches as a stream: each epoch a Fisher–Yates shuffle of
// the training images, then ±shift-pixel random shifts, both drawn from one seeded stream in the
// order datasets/mnist/train_sparse_mlp.ts draws them, so a recipe that iterates these batches
// with the budget's seed sees the dense-trained baseline's data order exactly.
import { mulberry32 } from "../../bench/random.ts";
import type { ImageSet } from "./idx.ts";
import { shifted } from "./train_mlp.ts";

/** One batch: images (rows × pixels, in [0, 1]) and labels, `n` rows. */
export interface BudgetBatch {
  x: Float32Array;
  y: Int32Array;
  n: number;
  /** 0-based epoch of the batch. */
  epoch: number;
  /** Whether it is its epoch's last batch. */
  lastOfEpoch: boolean;
}

/**
 * The batches of `epochs` passes over the first `trainCount` training images. The buffers are
 * reused: a batch is valid until the next one is drawn.
 *
 * @param train the training split
 * @param options the stream's seed (the budget draws from `seed ^ 0x3c3c`), batch size, shift,
 *   images and epochs
 */
export function* budgetBatches(
  train: ImageSet,
  options: { seed: number; batch: number; shift: number; trainCount: number; epochs: number },
): Generator<BudgetBatch> {
  const { batch, shift, trainCount, epochs } = options;
  const rand = mulberry32(options.seed ^ 0x3c3c), d = train.rows * train.cols;
  const order = Int32Array.from({ length: trainCount }, (_, i) => i);
  const x = new Float32Array(batch * d), y = new Int32Array(batch);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let s = 0; s < trainCount; s += batch) {
      const n = Math.min(batch, trainCount - s);
      for (let k = 0; k < n; k++) {
        const dx = Math.floor(rand() * (2 * shift + 1)) - shift;
        const dy = Math.floor(rand() * (2 * shift + 1)) - shift;
        shifted(train, order[s + k], { dx, dy, out: x, offset: k * d });
        y[k] = train.labels[order[s + k]];
      }
      yield {
        x: n === batch ? x : x.subarray(0, n * d),
        y: y.subarray(0, n),
        n,
        epoch,
        lastOfEpoch: s + batch >= trainCount,
      };
    }
  }
}
