// Fashion-MNIST from Debian's dataset-fashion-mnist (gzipped IDX files under
// /usr/share/datasets/fashion-mnist), each file pinned by sha256.
import { readPinnedFile } from "../pinned_files.ts";
import { cachedImageSet, type ImageSet, imageSetOf, setSha256 } from "../mnist/idx.ts";
import type { ImageSplit } from "../mnist/mnist.ts";

export const FASHION_PACKAGE = "dataset-fashion-mnist";
export const FASHION_VERSION = "0.0~git20200523.55506a9-1";
export const FASHION_INSTALL = "apt-get install dataset-fashion-mnist";
export const FASHION_DIR = "/usr/share/datasets/fashion-mnist";

/** sha256 of every (gzipped) file read. */
export const FASHION_FILES = {
  train: {
    images: [
      "train-images-idx3-ubyte.gz",
      "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    ],
    labels: [
      "train-labels-idx1-ubyte.gz",
      "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    ],
  },
  test: {
    images: [
      "t10k-images-idx3-ubyte.gz",
      "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    ],
    labels: [
      "t10k-labels-idx1-ubyte.gz",
      "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    ],
  },
} as const;

/** The ten class names, by label. */
export const FASHION_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
] as const;

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The Fashion-MNIST train (60,000) or test (10,000) set; decoded sets are cached under .cache/.
 *
 * @throws {DatasetUnavailableError} naming `apt-get install dataset-fashion-mnist` when the
 *   Debian package is missing or a file's sha256 differs
 */
export async function loadFashionMnist(split: ImageSplit): Promise<ImageSet> {
  const files = FASHION_FILES[split];
  const sha = await setSha256(files.images[1], files.labels[1]);
  return cachedImageSet(`fashion-mnist-${split}`, sha, async () => {
    const source = `Debian package ${FASHION_PACKAGE}`;
    const images = await readPinnedFile(
      `${FASHION_DIR}/${files.images[0]}`,
      files.images[1],
      source,
      FASHION_INSTALL,
    );
    const labels = await readPinnedFile(
      `${FASHION_DIR}/${files.labels[0]}`,
      files.labels[1],
      source,
      FASHION_INSTALL,
    );
    return imageSetOf(await gunzip(images), await gunzip(labels), sha, `fashion-mnist ${split}`);
  });
}
