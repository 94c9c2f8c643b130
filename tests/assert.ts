// Small assertion helpers over node:assert, since Deno's std (on JSR) is out of reach here.
import nodeAssert from "node:assert/strict";

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

/** Fails unless `condition` is truthy. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Fails unless `actual` and `expected` are deeply equal. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Fails unless `actual` is within `tolerance` of `expected`. */
export function assertAlmostEquals(actual: number, expected: number, tolerance = 1e-7): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new nodeAssert.AssertionError({
      message: `Expected ${actual} to be within ${tolerance} of ${expected}`,
    });
  }
}

/** Fails unless `text` contains `part`. */
export function assertStringIncludes(text: string, part: string): void {
  if (!text.includes(part)) {
    throw new nodeAssert.AssertionError({
      message: `Expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
    });
  }
}

function checkError(error: unknown, errorClass?: ErrorClass, includes?: string): Error {
  if (!(error instanceof Error)) {
    throw new nodeAssert.AssertionError({ message: `Expected an Error, got ${error}` });
  }
  if (errorClass && !(error instanceof errorClass)) {
    throw new nodeAssert.AssertionError({
      message: `Expected ${errorClass.name}, got ${(error as Error).name}: ${
        (error as Error).message
      }`,
    });
  }
  if (includes !== undefined) assertStringIncludes(error.message, includes);
  return error;
}

/** Fails unless `fn` throws (an instance of `errorClass` whose message includes `includes`). */
export function assertThrows(fn: () => unknown, errorClass?: ErrorClass, includes?: string): Error {
  try {
    fn();
  } catch (error) {
    return checkError(error, errorClass, includes);
  }
  throw new nodeAssert.AssertionError({ message: "Expected the function to throw" });
}

/** Fails unless the promise from `fn` rejects (as `assertThrows` checks). */
export async function assertRejects(
  fn: () => Promise<unknown>,
  errorClass?: ErrorClass,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, errorClass, includes);
  }
  throw new nodeAssert.AssertionError({ message: "Expected the promise to reject" });
}
