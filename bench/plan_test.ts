import { assertEquals, assertThrows } from "../tests/assert.ts";
import { echoMethod, echoTask } from "../tests/fixtures/fake_plugins.ts";
import { defineMethod } from "./metadata.ts";
import { PlanError, planRun } from "./plan.ts";

const dense = echoMethod("echo-dense", "ok");
const other = echoMethod("echo-other", "ok");

Deno.test("planRun() always includes the task's reference method with its defaults", () => {
  const groups = planRun({ profile: "quick", tasks: [echoTask], methods: [other], overrides: {} }, [
    dense,
    other,
  ]);
  // quick: n ∈ {8, 16}; the reference at scale 1, the selected method over its sweep {1, 2}.
  assertEquals(groups.map((g) => g.caseKey), ["n=8", "n=16"]);
  assertEquals(
    groups[0].cells.map((c) => [c.method.meta.id, c.params.scale, c.isReference]),
    [["echo-dense", 1, true], ["echo-other", 1, false], ["echo-other", 2, false]],
  );
  // Later cases of quick run every method with its defaults only; full sweeps them too.
  assertEquals(
    groups[1].cells.map((c) => [c.method.meta.id, c.params.scale]),
    [["echo-dense", 1], ["echo-other", 1]],
  );
  const unswept = planRun({
    profile: "quick",
    tasks: [{ ...echoTask, meta: { ...echoTask.meta, quickSweep: false } }],
    methods: [other],
    overrides: {},
  }, [dense, other]);
  assertEquals(unswept[0].cells.map((c) => c.params.scale), [1, 1]);
  const full = planRun({ profile: "full", tasks: [echoTask], methods: [other], overrides: {} }, [
    dense,
    other,
  ]);
  assertEquals(full.at(-1)!.cells.map((c) => c.params.scale), [1, 1, 2]);
});

Deno.test("planRun() applies an id-scoped override to that method only", () => {
  const groups = planRun({
    profile: "smoke",
    tasks: [echoTask],
    methods: [dense, other],
    overrides: { "echo-other.scale": [7] },
  }, [dense, other]);
  assertEquals(groups[0].cells.map((c) => [c.method.meta.id, c.params.scale]), [
    ["echo-dense", 1],
    ["echo-other", 7],
  ]);
});

Deno.test("planRun() uses defaults on smoke and overrides from --param everywhere", () => {
  const smoke = planRun({ profile: "smoke", tasks: [echoTask], methods: [dense], overrides: {} }, [
    dense,
  ]);
  assertEquals(smoke.flatMap((g) => g.cells.map((c) => c.key)), ["echo|n=8|echo-dense|scale=1"]);
  const set = planRun({
    profile: "smoke",
    tasks: [echoTask],
    methods: [dense],
    overrides: { n: [3], scale: [5] },
  }, [dense]);
  assertEquals(set.flatMap((g) => g.cells.map((c) => c.key)), [
    "echo|n=3|echo-dense|scale=1",
    "echo|n=3|echo-dense|scale=5",
  ]);
});

Deno.test("planRun() pairs by family only and refuses a method that fits no task", () => {
  const attention = defineMethod({ ...dense.meta, id: "attn", family: "attention", impl: {} });
  assertThrows(
    () =>
      planRun({ profile: "smoke", tasks: [echoTask], methods: [attention], overrides: {} }, [
        dense,
        attention,
      ]),
    PlanError,
    "fits none of the selected tasks",
  );
});

Deno.test("planRun() runs a task's methodValues where the spec allows: smoke's defaults, quick's first-case sweep", () => {
  const withValues = (values: Record<string, (number | string)[]>) => ({
    ...echoTask,
    meta: { ...echoTask.meta, methodValues: { quick: values, smoke: values } },
  });
  const plan = (task: typeof echoTask, profile: "smoke" | "quick" | "full") =>
    planRun({ profile, tasks: [task], methods: [other], overrides: {} }, [dense, other]);
  // "x" is no number and 1e9 is past the spec's max: only 2 runs.
  const narrowed = withValues({ scale: [2, "x", 1e9] });
  assertEquals(plan(narrowed, "quick")[0].cells.map((c) => c.params.scale), [1, 2]);
  assertEquals(plan(narrowed, "smoke")[0].cells.map((c) => c.params.scale), [1, 2]);
  // Later cases of quick keep the defaults; full sweeps the method's own values.
  assertEquals(plan(narrowed, "quick")[1].cells.map((c) => c.params.scale), [1, 1]);
  assertEquals(plan(narrowed, "full")[0].cells.map((c) => c.params.scale), [1, 1, 2]);
  // Nothing allowed: the method keeps its own sweep. A method-scoped name wins over the plain one.
  assertEquals(plan(withValues({ scale: ["x"] }), "quick")[0].cells.map((c) => c.params.scale), [
    1,
    1,
    2,
  ]);
  const scoped = withValues({ scale: [2], "echo-other.scale": [3] });
  assertEquals(plan(scoped, "quick")[0].cells.map((c) => c.params.scale), [1, 3]);
});

Deno.test("planRun() runs a task's methodValues.every in every profile and case, under a profile's own", () => {
  const task = {
    ...echoTask,
    meta: { ...echoTask.meta, methodValues: { every: { scale: [2] }, smoke: { scale: [1] } } },
  };
  const plan = (profile: "smoke" | "quick" | "full") =>
    planRun({ profile, tasks: [task], methods: [other], overrides: {} }, [dense, other]);
  // Full and quick (first and later cases) run the fixed value instead of the sweep [1, 2].
  assertEquals(plan("full")[0].cells.map((c) => c.params.scale), [1, 2]);
  assertEquals(plan("quick").map((g) => g.cells.map((c) => c.params.scale)), [[1, 2], [1, 2]]);
  // Smoke's own entry wins over every's.
  assertEquals(plan("smoke")[0].cells.map((c) => c.params.scale), [1, 1]);
});

Deno.test("planRun() adds a profile's matched-budget cases and runs each method once in them", () => {
  const task = {
    ...echoTask,
    meta: {
      ...echoTask.meta,
      parameters: {
        ...echoTask.meta.parameters,
        target: {
          type: "number" as const,
          description: "budget every method is tuned to; 0: its own",
          default: 0,
          min: 0,
          max: 1,
          sweep: [0],
        },
      },
      matchedBudget: { param: "target", own: 0, cases: { full: { n: [32], target: [0.1, 0.2] } } },
    },
  };
  const full = planRun({ profile: "full", tasks: [task], methods: [other], overrides: {} }, [
    dense,
    other,
  ]);
  // The profile's own cases (target at its default, own) and the matched grid; n=32 is in both.
  assertEquals(full.map((g) => g.caseKey), [
    "n=8,target=0",
    "n=16,target=0",
    "n=32,target=0",
    "n=32,target=0.1",
    "n=32,target=0.2",
  ]);
  // Own cases sweep the method's parameters; matched ones run its defaults only.
  assertEquals(full[2].cells.map((c) => c.params.scale), [1, 1, 2]);
  assertEquals(full[3].cells.map((c) => [c.method.meta.id, c.params.scale]), [
    ["echo-dense", 1],
    ["echo-other", 1],
  ]);
  // Profiles without a grid keep their cases, and so do cases chosen with --param; a target
  // chosen so is a matched case too.
  const quick = planRun({ profile: "quick", tasks: [task], methods: [other], overrides: {} }, [
    dense,
    other,
  ]);
  assertEquals(quick.map((g) => g.caseKey), ["n=8,target=0", "n=16,target=0"]);
  const chosen = planRun({
    profile: "full",
    tasks: [task],
    methods: [other],
    overrides: { n: [4] },
  }, [
    dense,
    other,
  ]);
  assertEquals(chosen.map((g) => g.caseKey), ["n=4,target=0"]);
  const set = planRun({
    profile: "quick",
    tasks: [task],
    methods: [other],
    overrides: { target: [0.05] },
  }, [dense, other]);
  assertEquals(set[0].cells.map((c) => c.params.scale), [1, 1]);
});
