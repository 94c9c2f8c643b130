import { assertEquals, assertThrows } from "../tests/assert.ts";
import { echoMethod } from "../tests/fixtures/fake_plugins.ts";
import { Registry, RegistryError } from "./registry.ts";
import { closestNames } from "./suggest.ts";

Deno.test("Registry refuses a duplicate id", () => {
  assertThrows(
    () => new Registry("method", [echoMethod("echo-a", "ok"), echoMethod("echo-a", "ok")]),
    RegistryError,
    "'echo-a': that id is already registered",
  );
});

Deno.test("Registry answers an unknown id with close matches and every valid id", () => {
  const registry = new Registry("method", [
    echoMethod("sliding-window", "ok"),
    echoMethod("dense", "ok"),
  ]);
  const error = assertThrows(() => registry.get("sliding-windw"), RegistryError);
  assertEquals(
    error.message,
    "Unknown method 'sliding-windw'. Did you mean 'sliding-window'? Valid methods: dense, sliding-window.",
  );
  assertThrows(() => registry.get("zzz"), RegistryError, "Valid methods: dense, sliding-window.");
});

Deno.test("Registry refuses registration once frozen", () => {
  const registry = new Registry("method", [echoMethod("a", "ok")]).freeze();
  assertEquals(registry.frozen, true);
  assertThrows(() => registry.register(echoMethod("b", "ok")), RegistryError, "frozen");
  assertEquals(registry.ids(), ["a"]);
});

Deno.test("closestNames() prefers near and containing names", () => {
  assertEquals(closestNames("dense", ["dense-attention", "sliding-window-attention"]), [
    "dense-attention",
  ]);
  assertEquals(closestNames("qwerty", ["dense-attention"]), []);
});
