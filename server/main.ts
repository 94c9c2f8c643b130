// `deno task serve`: serves the leaderboard app on PORT (default 8000) from the results folder
// given by --results or RESULTS_DIR (default results/runs).
import { parseArgs } from "node:util";
import { createApp } from "./app.ts";
import { labelsOf, readCatalogOrDefault } from "./catalog.ts";
import { ResultsStore } from "./store.ts";

/** Options of the serve command, as parsed from the command line and the environment. */
export interface ServeOptions {
  results: string;
  port: number;
  hostname: string;
  catalog: string | null;
  /** Store anonymous runs from the runner page (unverified): `--accept-browser-runs`. */
  acceptBrowserRuns: boolean;
}

/**
 * Parses the serve command's arguments.
 *
 * @throws {Error} with what was expected when an argument or PORT is malformed
 */
export function parseServeArgs(
  args: string[],
  env: (name: string) => string | undefined,
): ServeOptions {
  const { values } = parseArgs({
    args,
    options: {
      results: { type: "string" },
      port: { type: "string" },
      hostname: { type: "string" },
      catalog: { type: "string" },
      "accept-browser-runs": { type: "boolean" },
    },
    strict: true,
  });
  const portText = values.port ?? env("PORT") ?? "8000";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`The port must be an integer from 0 to 65535: got '${portText}'`);
  }
  return {
    results: values.results ?? env("RESULTS_DIR") ?? "results/runs",
    port,
    hostname: values.hostname ?? env("HOSTNAME_BIND") ?? "0.0.0.0",
    catalog: values.catalog ?? null,
    acceptBrowserRuns: values["accept-browser-runs"] ?? false,
  };
}

if (import.meta.main) {
  let options: ServeOptions;
  try {
    options = parseServeArgs(Deno.args, (n) => Deno.env.get(n));
  } catch (error) {
    console.error((error as Error).message);
    console.error(
      "usage: deno task serve [--results DIR] [--port N] [--hostname H] [--catalog FILE] [--accept-browser-runs]",
    );
    Deno.exit(2);
  }
  const methodInfo = await readCatalogOrDefault(options.catalog);
  const store = new ResultsStore(options.results, { labels: labelsOf(methodInfo) });
  const snapshot = await store.refresh();
  console.error(
    `loaded ${snapshot.files.length} run files from ${options.results}, skipped ${snapshot.skipped.length}`,
  );
  const app = await createApp({ store, methodInfo, acceptBrowserRuns: options.acceptBrowserRuns });
  if (options.acceptBrowserRuns) {
    console.error("accepting anonymous browser runs from /run (stored unverified)");
  }
  Deno.serve({ port: options.port, hostname: options.hostname }, app.fetch);
}
