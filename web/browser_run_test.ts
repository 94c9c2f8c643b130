// The page's choices become the CLI's plan: parameter text is checked against the chosen tasks'
// and methods' specs, and choosing only an MoE task plans no attention method.
import { assertEquals, assertThrows } from "../tests/assert.ts";
import { BrowserRunError, parseBrowserParams, planBrowserRun } from "./browser_run.ts";
import { BROWSER_METHODS, BROWSER_TASKS } from "./capabilities.ts";

const ALL = [...BROWSER_TASKS, ...BROWSER_METHODS];

Deno.test("parameter text parses as --param does, with clear errors", () => {
  assertEquals(parseBrowserParams(" engine=webgpu,wasm  batch=64 ", ALL), {
    engine: ["webgpu", "wasm"],
    batch: [64],
  });
  assertEquals(parseBrowserParams("", ALL), {});
  assertThrows(() => parseBrowserParams("engine", ALL), BrowserRunError, "name=value");
  assertThrows(() => parseBrowserParams("nosuch=1", ALL), BrowserRunError, "'nosuch'");
  assertThrows(() => parseBrowserParams("engine=cuda", ALL), BrowserRunError, "one of");
});

Deno.test("choosing only an MoE task plans its family's methods on the chosen engine", () => {
  const groups = planBrowserRun({
    profile: "smoke",
    families: [],
    tasks: ["mnist-moe"],
    params: "engine=webgpu",
  });
  const cells = groups.flatMap((g) => g.cells);
  assertEquals(new Set(cells.map((c) => c.method.meta.family)), new Set(["moe"]));
  assertEquals(new Set(cells.map((c) => c.task.meta.id)), new Set(["mnist-moe"]));
  assertEquals(new Set(groups.map((g) => g.caseParams.engine)), new Set(["webgpu"]));
});
