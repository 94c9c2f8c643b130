import { assertEquals } from "../tests/assert.ts";
import { aggregate } from "../server/aggregate.ts";
import { deviceBoards } from "../server/device_boards.ts";
import { deviceClassOf, deviceOf } from "../server/devices.ts";
import { makeBrowserRun } from "../server/testdata/browser_run.ts";
import { makeRun } from "../server/testdata/fixture.ts";
import { leaderboardFigure, paramsText } from "./leaderboard_figures.ts";

Deno.test("leaderboardFigure() takes this device's figure, else one of its class, else none", () => {
  const cli = makeRun({ runId: "cli" });
  const browser = makeBrowserRun("mine");
  const cell = browser.cells.find((c) => !c.isReference && c.status === "ok")!;
  const here = deviceOf(browser);
  const at = { id: here.id, deviceClass: deviceClassOf(here) };
  // Only the CLI run (llvmpipe, a software adapter like SwiftShader): the class's figure.
  const classOnly = deviceBoards(aggregate([cli]));
  const other = leaderboardFigure(classOnly, at, cell);
  assertEquals(other.includes(deviceOf(cli).label), true, other);
  // With a run from this very device: its own.
  const both = deviceBoards(aggregate([cli, { ...browser, runId: "earlier" }]));
  assertEquals(leaderboardFigure(both, at, cell).includes("on this device"), true);
  // A class nobody has run: nothing to show.
  assertEquals(leaderboardFigure(classOnly, { id: "x", deviceClass: "nvidia ampere" }, cell), "—");
  assertEquals(leaderboardFigure(both, at, browser.cells.find((c) => c.isReference)!), "baseline");
});

Deno.test("paramsText() writes parameters as the leaderboard does", () => {
  assertEquals(paramsText({ window: 64, sinks: 4 }), "sinks=4, window=64");
});
