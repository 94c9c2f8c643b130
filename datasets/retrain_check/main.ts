// `deno run -A datasets/retrain_check/main.ts`: `full`'s re-training check. Re-trains this run's
// rotation (one sparse-training recipe and one MoE gate recipe) in temporary folders and compares
// each re-trained card with the committed one; exits 1 when a recipe did not reproduce.
import { retrainableRecipes } from "../train.ts";
import { retrainAndCompare, type RetrainResult } from "./retrain.ts";
import { rotationSample, runIndexOfDate } from "./rotation.ts";
import { REPRODUCTION_TOLERANCE } from "./compare.ts";

const USAGE =
  "Usage: retrain_check/main.ts [--run-index N | --date YYYY-MM-DD] [--recipe NAME] [--out FILE.json]";

/** The report a run writes: the rotation it chose and a result per re-trained recipe. */
export interface RetrainReport {
  runIndex: number;
  /** How the recipes were chosen: the rotation, or `--recipe`. */
  chosenBy: "rotation" | "recipe";
  rotation: { kind: string; name: string; slot: number; of: number }[];
  tolerance: number;
  startedAt: string;
  load: number[];
  results: RetrainResult[];
}

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

if (import.meta.main) {
  const args = Deno.args;
  const recipes = retrainableRecipes();
  const indexText = argValue(args, "--run-index");
  const dateText = argValue(args, "--date");
  let runIndex = runIndexOfDate(new Date());
  if (indexText !== undefined) {
    runIndex = Number(indexText);
    if (!Number.isInteger(runIndex)) fail(`--run-index must be an integer: got '${indexText}'`);
  } else if (dateText !== undefined) {
    const date = new Date(`${dateText}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(dateText) || Number.isNaN(date.getTime())) {
      fail(`--date must be YYYY-MM-DD: got '${dateText}'`);
    }
    runIndex = runIndexOfDate(date);
  }
  const rotation = rotationSample(recipes, runIndex);
  const only = argValue(args, "--recipe");
  let chosen = rotation.map((p) => recipes.find((r) => r.name === p.name)!);
  if (only !== undefined) {
    const recipe = recipes.find((r) => r.name === only);
    if (!recipe) {
      fail(`--recipe must be one of ${recipes.map((r) => r.name).join(", ")}: got '${only}'`);
    }
    chosen = [recipe];
  }
  const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
  const report: RetrainReport = {
    runIndex,
    chosenBy: only === undefined ? "rotation" : "recipe",
    rotation,
    tolerance: REPRODUCTION_TOLERANCE,
    startedAt: new Date().toISOString(),
    load: Deno.loadavg(),
    results: [],
  };
  for (const recipe of chosen) {
    log(`re-training ${recipe.name} (${recipe.kind}) in a temporary folder`);
    const result = await retrainAndCompare(recipe, { log });
    report.results.push(result);
    const r = result.reproduction;
    log(
      `${result.status.toUpperCase()} ${recipe.name}: ${
        r
          ? `${r.metric} committed ${r.committed}, re-trained ${r.retrained}, difference ${r.difference}, tolerance ±${r.tolerance}, checkpoint ${
            result.checkpointIdentical ? "identical" : "differs"
          }`
          : result.error
      }; ${result.retrainMinutes.toFixed(2)} min`,
    );
  }
  const out = argValue(args, "--out");
  if (out) await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
  Deno.exit(report.results.every((r) => r.status === "ok") ? 0 : 1);
}
