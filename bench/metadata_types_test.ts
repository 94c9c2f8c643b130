// Type-level tests of typed parameters: `deno test` type-checks this file, so a hook that could
// read a parameter as the wrong type, or one that is not declared, fails the suite.
import { assertEquals } from "../tests/assert.ts";
import {
  defineMethod,
  type Method,
  type MethodDefinition,
  type ParamSpecs,
  type ParamValues,
  type ParamValuesOf,
} from "./metadata.ts";

interface Family<V extends Readonly<ParamValues> = ParamValues> {
  cost(params: V): number;
}

function defineFamilyMethod<P extends ParamSpecs>(
  definition: MethodDefinition<P, Family<ParamValuesOf<P>>>,
): Method<Family> {
  return defineMethod(definition);
}

const base = {
  family: "attention" as const,
  title: "T",
  description: "d",
  paper: { title: "P", year: 2024, link: "https://example.org" },
  fidelity: { level: "faithful" as const, reason: "a test fixture" },
  version: "1.0.0",
  capabilities: { requires: [], features: [] },
};

Deno.test("a family's define function types each hook's parameters by the declared specs", () => {
  const method = defineFamilyMethod({
    ...base,
    id: "typed",
    parameters: {
      window: { type: "int", description: "w", default: 4, min: 1, max: 9, sweep: [4] },
      mode: { type: "enum", description: "m", values: ["a", "bb"], default: "a", sweep: ["a"] },
      causal: { type: "boolean", description: "c", default: true, sweep: [true] },
    },
    impl: {
      cost(params) {
        const window: number = params.window;
        const mode: string = params.mode;
        const causal: boolean = params.causal;
        // @ts-expect-error: a number parameter is never a string
        const wrong: string = params.window;
        // @ts-expect-error: undeclared parameters do not exist
        const missing = params.height;
        return window * mode.length * (causal ? 2 : 1) + (wrong ? 0 : 0) + (missing ? 0 : 0);
      },
    },
  });
  assertEquals(method.impl.cost({ window: 3, mode: "bb", causal: true }), 12);
});
