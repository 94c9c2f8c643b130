// Re-trains one recipe into a temporary folder and compares its card with the committed one: the
// committed checkpoints are never written, and a failure is a failed result, never a throw.
import type { RetrainableRecipe } from "../train.ts";
import { cardMetric, compareMetric, type Reproduction, REPRODUCTION_TOLERANCE } from "./compare.ts";

/** One re-trained recipe: what a `full` run records as its cell. */
export interface RetrainResult {
  recipe: string;
  kind: RetrainableRecipe["kind"];
  status: "ok" | "failed";
  /** The comparison, when both cards could be read. */
  reproduction: Reproduction | null;
  /** Whether the re-trained checkpoint's sha256 equals the committed card's (expected on one machine). */
  checkpointIdentical: boolean | null;
  /** Wall minutes the re-training took here. */
  retrainMinutes: number;
  /** Why the cell failed; empty when it passed. */
  error: string;
}

/**
 * Trains `recipe` into a fresh temporary folder (removed afterwards), reads the card it wrote and
 * the committed card of the same name, and compares their main metric.
 *
 * @param recipe the recipe, with the folder of its committed card
 * @param options `tolerance` (default {@link REPRODUCTION_TOLERANCE}) and a `log` for the trainer
 * @returns the result; training errors, missing cards and a metric outside tolerance are `failed`
 */
export async function retrainAndCompare(
  recipe: Pick<RetrainableRecipe, "name" | "kind" | "committed" | "train">,
  options: { tolerance?: number; log?: (line: string) => void } = {},
): Promise<RetrainResult> {
  const { tolerance = REPRODUCTION_TOLERANCE, log = () => {} } = options;
  const dir = await Deno.makeTempDir({ prefix: "sparsebench-retrain-" });
  const out = new URL(`file://${dir}/`);
  const start = performance.now();
  const result = (fields: Partial<RetrainResult>): RetrainResult => ({
    recipe: recipe.name,
    kind: recipe.kind,
    status: "failed",
    reproduction: null,
    checkpointIdentical: null,
    retrainMinutes: (performance.now() - start) / 60_000,
    error: "",
    ...fields,
  });
  try {
    try {
      await recipe.train(log, [], out);
    } catch (error) {
      return result({ error: `re-training ${recipe.name} failed: ${String(error)}` });
    }
    const trainedAt = performance.now();
    const minutes = (trainedAt - start) / 60_000;
    const cards = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".json"));
    if (cards.length !== 1) {
      return result({
        retrainMinutes: minutes,
        error: `re-training ${recipe.name} should write one card: found ${cards.length}`,
      });
    }
    const file = cards[0].name;
    const retrained = JSON.parse(await Deno.readTextFile(`${dir}/${file}`));
    let committed;
    try {
      committed = JSON.parse(await Deno.readTextFile(new URL(file, recipe.committed)));
    } catch (error) {
      return result({
        retrainMinutes: minutes,
        error: `no committed card ${file} to compare with (${String(error)})`,
      });
    }
    const was = cardMetric(committed);
    const now = cardMetric(retrained);
    if (was.metric !== now.metric) {
      return result({
        retrainMinutes: minutes,
        error:
          `the cards name different metrics: committed ${was.metric}, re-trained ${now.metric}`,
      });
    }
    const reproduction = compareMetric(was.metric, {
      committed: was.value,
      retrained: now.value,
    }, tolerance);
    return result({
      status: reproduction.passed ? "ok" : "failed",
      reproduction,
      checkpointIdentical: typeof committed.checkpointSha256 === "string" &&
        committed.checkpointSha256 === retrained.checkpointSha256,
      retrainMinutes: minutes,
      error: reproduction.message,
    });
  } catch (error) {
    return result({ error: `checking ${recipe.name} failed: ${String(error)}` });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
