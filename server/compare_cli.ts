// `deno task compare A.json B.json [--threshold 0.1] [--out REPORT.md]`: is run B worse than run
// A? Quality exactly, latency from the raw samples on one device (server/regression.ts). Prints
// a markdown report; exits 1 when a quality or status changed or a latency regressed beyond the
// threshold, 2 on bad input, 0 otherwise.
import { parseArgs } from "node:util";
import { readRunFile } from "../bench/results/run_file.ts";
import { compareForRegressions, regressionMarkdown } from "./regression.ts";

if (import.meta.main) {
  const usage = "usage: deno task compare A.json B.json [--threshold 0.1] [--out REPORT.md]";
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: { threshold: { type: "string" }, out: { type: "string" } },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${usage}`);
    Deno.exit(2);
  }
  const threshold = parsed.values.threshold === undefined ? 0.1 : Number(parsed.values.threshold);
  if (parsed.positionals.length !== 2 || !(threshold >= 0 && threshold < 1)) {
    console.error(
      parsed.positionals.length !== 2
        ? usage
        : `error: --threshold must be a share in [0, 1): got '${parsed.values.threshold}'`,
    );
    Deno.exit(2);
  }
  let report;
  try {
    const [a, b] = await Promise.all(parsed.positionals.map((p) => readRunFile(p)));
    report = compareForRegressions(a, b, threshold);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(2);
  }
  const text = regressionMarkdown(report);
  if (parsed.values.out) await Deno.writeTextFile(parsed.values.out, text);
  console.log(text);
  Deno.exit(report.failing ? 1 : 0);
}
