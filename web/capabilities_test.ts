// The browser build's declared capability is complete: every registered task and method of a
// browser family is either in the build or left out with a reason, so a new one is never
// silently missing from the page; and every other family is left out with a reason.
import { assert, assertEquals } from "../tests/assert.ts";
import { methodRegistry } from "../methods/mod.ts";
import { taskRegistry } from "../datasets/mod.ts";
import {
  BROWSER_FAMILIES,
  BROWSER_METHODS,
  BROWSER_TASKS,
  LEFT_OUT_FAMILIES,
  LEFT_OUT_METHODS,
  LEFT_OUT_TASKS,
} from "./capabilities.ts";

const inBrowserFamily = (family: string) =>
  (BROWSER_FAMILIES as readonly string[]).includes(family);

Deno.test("every task and method of a browser family is in the build or left out with a reason", () => {
  const tasks = taskRegistry().list().filter((t) => inBrowserFamily(t.meta.family));
  const built = new Set(BROWSER_TASKS.map((t) => t.meta.id));
  const unaccounted = tasks.map((t) => t.meta.id).filter((id) =>
    !built.has(id) && !(id in LEFT_OUT_TASKS)
  );
  assertEquals(unaccounted, [], "tasks neither in BROWSER_TASKS nor in LEFT_OUT_TASKS");
  const methods = methodRegistry().list().filter((m) => inBrowserFamily(m.meta.family));
  const builtMethods = new Set(BROWSER_METHODS.map((m) => m.meta.id));
  assertEquals(
    methods.map((m) => m.meta.id).filter((id) =>
      !builtMethods.has(id) && !(id in LEFT_OUT_METHODS)
    ),
    [],
  );
  for (const task of BROWSER_TASKS) {
    assert(
      builtMethods.has(task.meta.referenceMethod),
      `${task.meta.id}'s baseline is in the build`,
    );
  }
});

Deno.test("every other family is left out with a reason", () => {
  const families = new Set(taskRegistry().list().map((t) => t.meta.family));
  for (const f of families) {
    assert(inBrowserFamily(f) || LEFT_OUT_FAMILIES[f]?.length > 0, `family ${f}`);
  }
});
