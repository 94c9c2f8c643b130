import { taskRegistry } from "../datasets/mod.ts";
import { methodRegistry } from "../methods/mod.ts";
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { defineMethod, MetadataError, MethodMeta, parseParamValue, TaskMeta } from "./metadata.ts";

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
