// Sparse Model Soups' and SortedNet's recipes end to end on short MNIST runs (a test may see both
// the methods and the loop): SortedNet with one width is the shared budget's dense loop exactly,
// and an SMS run's members differ while its soup keeps their mask and averages them.
import { assert, assertEquals } from "../tests/assert.ts";
import { sparseTrainingOf } from "./families/pruning/mod.ts";
import { loadMnist } from "../datasets/mnist/mnist.ts";
import { trainModelSoup } from "../datasets/mnist/train_model_soup.ts";
import { trainSortedMlp } from "../datasets/mnist/train_sorted_mlp.ts";
import { trainSparseMlp } from "../datasets/mnist/train_sparse_mlp.ts";
import { loadTrainedMlp } from "../datasets/mnist/trained_mlp.ts";
import { denseTrainedBaseline } from "../methods/pruning/dense_trained.ts";

const MODELS = new URL("../datasets/mnist/models/", import.meta.url);
/** One epoch over the first 1,000 training images: 8 steps. */
const SHORT = { trainImages: 1000, recipe: { epochs: 1, warmupSteps: 2 } };
const DATA = { dataset: { id: "mnist", source: "test" }, load: loadMnist };

Deno.test("SortedNet with one width and one draw per step is the dense-trained loop exactly", async () => {
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    await trainSparseMlp({
      name: "t",
      method: { id: "dense-trained", version: "1.0.0" },
      training: sparseTrainingOf(denseTrainedBaseline)!,
      params: { width: 1 },
      out: new URL(`file://${dirs[0]}/`),
      ...DATA,
      ...SHORT,
    }, () => {});
    await trainSortedMlp({
      method: { id: "sortednet", version: "1.0.0" },
      widths: [1],
      draws: 1,
      seed: 0,
      name: () => "t",
      params: () => ({}),
      out: new URL(`file://${dirs[1]}/`),
      ...DATA,
      ...SHORT,
    }, () => {});
    // Same init, data order, shifts, schedule and update: the checkpoints are byte-identical.
    const [a, b] = await Promise.all(dirs.map((d) => Deno.readFile(`${d}/t.safetensors`)));
    assertEquals(a, b);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("an SMS run's members differ, and its soup keeps their mask and averages them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = new URL(`file://${dir}/`);
    const cards = await trainModelSoup({
      method: { id: "sparse-model-soups", version: "1.0.0" },
      phases: [{ sparsity: 0.9, name: (part) => `s-${part}`, params: (part) => ({ part }) }],
      members: 2,
      retrainEpochs: 1,
      retrainSteps: 3,
      start: { dir: MODELS, name: "mnist-mlp-dense-trained-w1" },
      out,
      ...DATA,
      trainImages: 1000,
    }, () => {});
    const load = async (part: string) => (await loadTrainedMlp(out, `s-${part}`)).model;
    const [soup, one, two] = [await load("soup"), await load("member1"), await load("member2")];
    soup.parameters().forEach((p, k) => {
      const a = one.parameters()[k], b = two.parameters()[k];
      assertEquals(Array.from(p.mask ?? []), Array.from(a.mask ?? []), p.name);
      assertEquals(Array.from(b.mask ?? []), Array.from(a.mask ?? []), p.name);
      for (let i = 0; i < p.size; i++) {
        assertEquals(p.data[i], Math.fround(0.5 * a.data[i] + 0.5 * b.data[i]), `${p.name}[${i}]`);
      }
    });
    assert(one.layers[0].weight.data.some((v, i) => v !== two.layers[0].weight.data[i]));
    assertEquals(soup.layers.reduce((n, l) => n + l.weight.density() * l.weight.size, 0), 26620);
    // The soup pays for both members' retraining on top of the dense pre-training; imp-long for
    // one run of as many steps.
    const steps = (part: string) => (cards[`s-${part}`].training as { steps: number }).steps;
    assertEquals(steps("soup") - steps("member1"), 3);
    assertEquals(steps("imp-long"), steps("soup"));
    assertEquals(steps("imp") + 3, steps("soup"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
