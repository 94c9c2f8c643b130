// The HTML pages and the CSV download as a sub-app: each route checks its URL, then renders from
// the request's snapshot through the response cache.
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ALL_DEVICES, knownLabels } from "./aggregate.ts";
import { toCsv } from "./columns.ts";
import { compareRuns } from "./compare.ts";
import { DEVICE_ID_PATTERN } from "./devices.ts";
import {
  checkId,
  parseBoardQuery,
  parseCompareQuery,
  refuseQuery,
  runOf,
  selectBoard,
  SLUG_PATTERN,
  taskOf,
} from "./query.ts";
import { type Cached, CSV, type Env, page } from "./response_cache.ts";
import { comparePage } from "./views/compare_page.ts";
import type { Links } from "./views/links.ts";
import type { MethodInfo } from "./catalog.ts";
import { methodPage } from "./views/method_page.ts";
import { overviewPage } from "./views/overview_page.ts";
import { runPage, runsPage } from "./views/runs_page.ts";
import { taskPage } from "./views/task_page.ts";
import { runnerPage } from "./views/run_page.ts";
import { devicesPage } from "./views/devices_page.ts";
import { deviceBoards } from "./device_boards.ts";

/** What the pages need besides the snapshot. */
export interface PageDeps {
  links: Links;
  methodInfo: ReadonlyMap<string, MethodInfo>;
  cached: Cached;
  /** Whether /static/runner.js is there for the runner page. */
  runnerBundled: boolean;
  /** Whether POST /api/runs takes anonymous runs from the runner page. */
  acceptsBrowserRuns: boolean;
}

function query(c: Context): URLSearchParams {
  return new URL(c.req.url).searchParams;
}

/**
 * The pages as a sub-app, to be mounted at /.
 *
 * @param deps links, method metadata and the response cache
 * @returns the sub-app
 */
export function pageRoutes(deps: PageDeps): Hono<Env> {
  const { links, methodInfo, cached } = deps;
  const app = new Hono<Env>();

  app.get("/", (c) =>
    cached(c, (s) => {
      const params = query(c);
      const best = params.get("best");
      params.delete("best");
      refuseQuery(params);
      if (best !== null && best !== "any" && best !== "default") {
        throw new HTTPException(400, {
          message: `'best' must be 'any' (stand-ins and oracles included) or 'default': got '${
            best.slice(0, 20)
          }'`,
        });
      }
      return page(overviewPage(s.data, links, { anyLabel: best === "any" }));
    }));

  // The same, as a path: the static site has no query strings.
  app.get("/best-any-label", (c) =>
    cached(c, (s) => {
      refuseQuery(query(c));
      return page(overviewPage(s.data, links, { anyLabel: true }));
    }));

  app.get("/runs", (c) =>
    cached(c, (s) => {
      refuseQuery(query(c));
      return page(runsPage(s.data, links));
    }));

  app.get("/runs/:id", (c) =>
    cached(c, (s) => {
      refuseQuery(query(c));
      return page(runPage(s.data, runOf(s.data, c.req.param("id")), links));
    }));

  function taskView(c: Context<Env>, device?: string): Promise<Response> {
    return cached(c, (s) => {
      const task = taskOf(s.data, c.req.param("id")!);
      const params = query(c);
      if (device !== undefined) {
        if (!DEVICE_ID_PATTERN.test(device) && device !== ALL_DEVICES) {
          throw new HTTPException(404, { message: `No device '${device.slice(0, 80)}'` });
        }
        if (params.has("device")) {
          throw new HTTPException(400, { message: "The device is already in the path" });
        }
        params.set("device", device);
      }
      const q = parseBoardQuery(params, task.defaultDeviceId ?? ALL_DEVICES);
      return page(taskPage(s.data, { task, board: selectBoard(s.data, task.id, q), q, links }));
    });
  }

  app.get("/tasks/:id", (c) => taskView(c));
  app.get("/tasks/:id/device/:device", (c) => taskView(c, c.req.param("device")));

  app.get("/tasks/:id/leaderboard.csv", (c) =>
    cached(c, (s) => {
      const task = taskOf(s.data, c.req.param("id"));
      const q = parseBoardQuery(query(c), task.defaultDeviceId ?? ALL_DEVICES);
      return { status: 200, type: CSV, body: toCsv(selectBoard(s.data, task.id, q).rows) };
    }));

  app.get("/methods/:id", (c) =>
    cached(c, (s) => {
      refuseQuery(query(c));
      const id = checkId(c.req.param("id"), SLUG_PATTERN, "method");
      const method = s.data.methods.get(id);
      if (!method) throw new HTTPException(404, { message: `No method '${id}' in any loaded run` });
      return page(methodPage(s.data, method, methodInfo.get(id), links));
    }));

  app.get("/run", async (c) => {
    refuseQuery(query(c));
    const res = await cached(c, () =>
      page(runnerPage({
        links,
        bundled: deps.runnerBundled,
        acceptsBrowserRuns: deps.acceptsBrowserRuns,
      })));
    // With COOP (set by secureHeaders) this makes the page cross-origin isolated, which gives it
    // a finer performance.now(); the run file records whether it was.
    res.headers.set("Cross-Origin-Embedder-Policy", "require-corp");
    return res;
  });

  app.get("/devices", (c) =>
    cached(c, (s) => {
      refuseQuery(query(c));
      return page(devicesPage(deviceBoards(s.data), links));
    }));

  app.get("/compare", (c) =>
    cached(c, (s) => {
      const [a, b] = parseCompareQuery(query(c)).map((id) => runOf(s.data, id));
      return page(comparePage(compareRuns(a, b, knownLabels(s.data)), links));
    }));

  return app;
}
