import { taskRegistry } from "../datasets/mod.ts";
import { methodRegistry } from "../methods/mod.ts";
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import {
  defineMethod,
  FIDELITY_LEVELS,
  MetadataError,
  MethodMeta,
  parseParamValue,
  TaskMeta,
} from "./metadata.ts";

const methods = methodRegistry();
const tasks = taskRegistry();

// One parametrized check over everything registered: valid metadata, a known family, a
// reference method that exists and fits, and at least one method per task.
for (const method of methods.list()) {
  Deno.test(`registered method '${method.meta.id}' has valid metadata`, () => {
    assert(MethodMeta.safeParse(method.meta).success);
    for (const [name, spec] of Object.entries(method.meta.parameters)) {
      assert(spec.sweep.length >= 1, `${name} has a sweep`);
    }
  });
}
for (const task of tasks.list()) {
  Deno.test(`registered task '${task.meta.id}' has valid metadata and a fitting reference method`, () => {
    assert(TaskMeta.safeParse(task.meta).success);
    const reference = methods.get(task.meta.referenceMethod);
    assertEquals(reference.meta.family, task.meta.family);
    assert(methods.list().some((m) => m.meta.family === task.meta.family));
  });
}

const valid = {
  id: "good-method",
  family: "attention" as const,
  title: "Good",
  description: "fine",
  paper: { title: "P", year: 2020, link: "https://example.org" },
  fidelity: { level: "faithful" as const, reason: "a test fixture" },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: [] },
  impl: {},
};

Deno.test("defineMethod() refuses unknown fields, bad ids and out-of-range parameters", () => {
  assertThrows(
    () => defineMethod({ ...valid, extra: 1 } as typeof valid),
    MetadataError,
    "Unrecognized key",
  );
  assertThrows(() => defineMethod({ ...valid, id: "Bad Id" }), MetadataError, "ids are lower-case");
  assertThrows(
    () => defineMethod({ ...valid, family: "vision" as "attention" }),
    MetadataError,
    "family",
  );
  assertThrows(
    () =>
      defineMethod({
        ...valid,
        parameters: {
          k: { type: "int", description: "k", default: 50, min: 1, max: 10, sweep: [1] },
        },
      }),
    MetadataError,
    "value 50 is outside [1, 10]",
  );
  assertEquals(defineMethod(valid).meta.id, "good-method");
});

Deno.test("defineMethod() refuses a method without a fidelity label, or with an unknown level", () => {
  const { fidelity: _, ...unlabelled } = valid;
  assertThrows(
    () => defineMethod(unlabelled as typeof valid),
    MetadataError,
    "fidelity",
  );
  assertThrows(
    () =>
      defineMethod({ ...valid, fidelity: { level: "close enough" as "faithful", reason: "r" } }),
    MetadataError,
    "fidelity.level",
  );
  assertThrows(
    () => defineMethod({ ...valid, fidelity: { level: "faithful", reason: "" } }),
    MetadataError,
    "fidelity.reason",
  );
});

Deno.test("defineMethod() refuses a stand-in or an oracle whose title carries the paper's name alone", () => {
  for (const level of ["stand-in", "oracle"] as const) {
    assertThrows(
      () => defineMethod({ ...valid, title: "NOSA", fidelity: { level, reason: "r" } }),
      MetadataError,
      `labelled ${level} says so in its title`,
    );
  }
  const standIn = defineMethod({
    ...valid,
    title: "NOSA (‖k‖₁ stand-in)",
    fidelity: { level: "stand-in", reason: "‖k‖₁ for the trained eviction head" },
  });
  assertEquals(standIn.meta.fidelity.level, "stand-in");
});

Deno.test("every registered method declares a fidelity label with a one-line reason", () => {
  const levels = new Map<string, string[]>();
  for (const m of methods.list()) {
    assert(FIDELITY_LEVELS.includes(m.meta.fidelity.level), m.meta.id);
    assert(m.meta.fidelity.reason.length > 10 && !m.meta.fidelity.reason.includes("\n"), m.meta.id);
    levels.set(m.meta.fidelity.level, [...(levels.get(m.meta.fidelity.level) ?? []), m.meta.id]);
  }
  // The labels issue 12 names, read from the methods' own notes: if one changes, so must its title.
  for (const id of ["nosa-attention", "dynamic-mask-attention", "dhsa-attention"]) {
    assert(levels.get("stand-in")?.includes(id), `${id} is a stand-in`);
    assert(methods.get(id).meta.title.includes("stand-in"), `${id}'s title says so`);
  }
  for (const id of ["topk-oracle-attention", "seer-oracle-attention"]) {
    assert(levels.get("oracle")?.includes(id), `${id} is an oracle`);
  }
  // Every task's reference method is labelled a baseline.
  for (const task of tasks.list()) {
    assertEquals(methods.get(task.meta.referenceMethod).meta.fidelity.level, "baseline");
  }
});

Deno.test("parseParamValue() checks type and range with a readable message", () => {
  const spec = { type: "int" as const, description: "w", default: 4, min: 1, max: 8, sweep: [4] };
  assertEquals(parseParamValue("w", spec, "3"), 3);
  assertThrows(() => parseParamValue("w", spec, "3.5"), RangeError, "must be an integer");
  assertThrows(() => parseParamValue("w", spec, "9"), RangeError, "between 1 and 8: got 9");
  assertThrows(
    () =>
      parseParamValue(
        "b",
        { type: "boolean", description: "b", default: true, sweep: [true] },
        "yes",
      ),
    RangeError,
    "true or false",
  );
});
