// `deno task report FILE [--task ID] [--method ID] [--case key=value]...`: the summary table of a
// run file already written, filtered to the cells asked for (e.g. one sequence length); --wide
// keeps every parameter in full and adds the share of the FLOPs reduction realized.
import { parseArgs } from "node:util";
import { Fidelity } from "./metadata.ts";
import { readRunFile, RunFileError } from "./results/run_file.ts";
import { fidelityLines, sameWorkLines, summaryTable } from "./cli/summary_table.ts";

const USAGE =
  "Usage: deno task report results/runs/RUN.json [--task ID] [--method ID] [--case key=value]... [--wide]";

/**
 * Today's fidelity labels by method id from the committed catalog (`deno task catalog`), for run
 * files written before methods declared one; empty when the catalog is not there.
 */
async function catalogLabels(): Promise<Map<string, Fidelity>> {
  const labels = new Map<string, Fidelity>();
  let catalog: { methods?: { id?: unknown; fidelity?: unknown }[] };
  try {
    catalog = JSON.parse(
      await Deno.readTextFile(new URL("../results/catalog.json", import.meta.url)),
    );
  } catch {
    return labels;
  }
  for (const m of catalog.methods ?? []) {
    const f = Fidelity.safeParse(m.fidelity);
    if (typeof m.id === "string" && f.success) labels.set(m.id, f.data);
  }
  return labels;
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        task: { type: "string" },
        method: { type: "string" },
        case: { type: "string", multiple: true, default: [] },
        wide: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const args = parsed.values;
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length > 0) fail("Give exactly one run file.");
  const wanted = (args.case as string[]).map((pair) => {
    const at = pair.indexOf("=");
    if (at <= 0) fail(`--case takes key=value, not '${pair}'`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
  try {
    const run = await readRunFile(file);
    const cells = run.cells.filter((c) =>
      (!args.task || c.task.id === args.task) && (!args.method || c.method.id === args.method) &&
      wanted.every(([k, v]) => String(c.task.case[k]) === v)
    );
    if (cells.length === 0) fail(`No cell of ${file} matches.`);
    const today = await catalogLabels();
    console.log(summaryTable({ ...run, cells }, { wide: args.wide, labels: today }));
    const labels = fidelityLines({ ...run, cells }, today);
    if (labels.length > 0) console.log(`\n${labels.join("\n")}`);
    const sameWork = sameWorkLines({ ...run, cells });
    if (sameWork.length > 0) console.log(`\n${sameWork.join("\n")}`);
  } catch (error) {
    if (error instanceof RunFileError || error instanceof Deno.errors.NotFound) {
      fail(`Cannot read ${file}: ${(error as Error).message}`);
    }
    throw error;
  }
}
