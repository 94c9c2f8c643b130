// The leaderboard as a Hono app: pages, JSON API, CSV, static files and submissions. Tests
// drive it with app.request(); main.ts serves it and site.ts exports it.
import { type Context, Hono } from "hono";
import { runFileJsonSchema } from "../bench/results/schema.ts";
import { ALL_DEVICES } from "./aggregate.ts";
import { type Asset, loadAssets } from "./assets.ts";
import { toCsv } from "./columns.ts";
import { compareRuns } from "./compare.ts";
import { DEVICE_ID_PATTERN } from "./devices.ts";
import {
  checkId,
  parseBoardQuery,
  RequestError,
  RUN_ID_PATTERN,
  selectBoard,
  SLUG_PATTERN,
} from "./query.ts";
import type { ResultsStore, Snapshot } from "./store.ts";
import { MAX_SUBMISSION_BYTES, readLimited, sameToken, storeSubmission } from "./submit.ts";
import { comparePage } from "./views/compare_page.ts";
import { errorPage } from "./views/error_page.ts";
import { type Links, SERVER_LINKS } from "./views/links.ts";
import { type MethodInfo, methodPage } from "./views/method_page.ts";
import { overviewPage } from "./views/overview_page.ts";
import { runPage, runsPage } from "./views/runs_page.ts";
import { taskPage } from "./views/task_page.ts";

/** Options of {@link createApp}; every field but the store has a default. */
export interface AppOptions {
  store: ResultsStore;
  /** How pages link to each other; the static export uses its own. */
  links?: Links;
  /** The submission token; default SPARSEBENCH_SUBMIT_TOKEN. Unset or empty: no submissions. */
  submitToken?: string | null;
  /** Static files; default {@link loadAssets}. */
  assets?: Map<string, Asset>;
  /** Method metadata (paper, parameters) that run files do not carry, by method id. */
  methodInfo?: Map<string, MethodInfo>;
  /** Largest accepted submission; default 5 MB. */
  maxSubmissionBytes?: number;
  /** Responses kept per snapshot, so repeated requests cost a lookup. */
  cacheEntries?: number;
}

/** The Content-Security-Policy of every response: the site's own scripts and styles only. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

interface Cached {
  status: number;
  type: string;
  body: string;
}

type Env = { Variables: { snapshot: Snapshot } };

const HTML = "text/html; charset=utf-8";
const JSON_TYPE = "application/json; charset=utf-8";
const CSV = "text/csv; charset=utf-8";

function isApi(path: string): boolean {
  return path === "/api" || path.startsWith("/api/");
}

/**
 * Builds the leaderboard app over a results store.
 *
 * @param options the store and optional settings
 * @returns the Hono app; `app.request(path)` runs a request without a socket
 * @example const app = await createApp({ store: new ResultsStore("results/runs") });
 */
export async function createApp(options: AppOptions): Promise<Hono<Env>> {
  const store = options.store;
  const links = options.links ?? SERVER_LINKS;
  const token = options.submitToken === undefined
    ? Deno.env.get("SPARSEBENCH_SUBMIT_TOKEN") ?? null
    : options.submitToken;
  const assets = options.assets ?? await loadAssets();
  const methodInfo = options.methodInfo ?? new Map<string, MethodInfo>();
  const maxBytes = options.maxSubmissionBytes ?? MAX_SUBMISSION_BYTES;
  const cacheEntries = options.cacheEntries ?? 2000;
  let cacheVersion = -1;
  const cache = new Map<string, Cached>();

  const app = new Hono<Env>();

  app.use("*", async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
  });

  app.use("*", async (c, next) => {
    c.set("snapshot", await store.current());
    await next();
  });

  function send(c: Context, r: Cached): Response {
    return c.body(r.body, r.status as 200, { "Content-Type": r.type });
  }

  /** Answers from the per-snapshot cache, building (and keeping) the response on a miss. */
  function cached(c: Context<Env>, build: (s: Snapshot) => Cached): Response {
    const snap = c.get("snapshot");
    if (snap.version !== cacheVersion) {
      cache.clear();
      cacheVersion = snap.version;
    }
    const url = new URL(c.req.url);
    const key = `${c.req.method === "HEAD" ? "GET" : c.req.method} ${url.pathname}${url.search}`;
    const hit = cache.get(key);
    if (hit) return send(c, hit);
    const built = build(snap);
    // Bounded so a crawl of every filter combination cannot grow memory without end.
    if (cache.size < cacheEntries) cache.set(key, built);
    return send(c, built);
  }

  const page = (body: string): Cached => ({ status: 200, type: HTML, body });
  const json = (data: unknown): Cached => ({
    status: 200,
    type: JSON_TYPE,
    body: JSON.stringify(data),
  });
  const query = (c: Context) => new URL(c.req.url).searchParams;

  function noQuery(c: Context): void {
    const first = [...query(c).keys()][0];
    if (first !== undefined) {
      throw new RequestError(
        400,
        `This page takes no query parameters: got '${first.slice(0, 40)}'`,
      );
    }
  }

  function taskOf(s: Snapshot, id: string) {
    checkId(id, SLUG_PATTERN, "task");
    const task = s.data.tasks.get(id);
    if (!task) throw new RequestError(404, `No task '${id}' in any loaded run`);
    return task;
  }

  function runOf(s: Snapshot, id: string) {
    checkId(id, RUN_ID_PATTERN, "run");
    const run = s.data.runs.get(id);
    if (!run) throw new RequestError(404, `No run '${id}' is loaded`);
    return run;
  }

  // --- pages ---------------------------------------------------------------------------------

  app.get("/", (c) =>
    cached(c, (s) => {
      noQuery(c);
      return page(overviewPage(s.data, links));
    }));

  app.get("/runs", (c) =>
    cached(c, (s) => {
      noQuery(c);
      return page(runsPage(s.data, links));
    }));

  app.get("/runs/:id", (c) =>
    cached(c, (s) => {
      noQuery(c);
      return page(runPage(s.data, runOf(s, c.req.param("id")), links));
    }));

  function taskView(c: Context<Env>, device?: string): Response {
    return cached(c, (s) => {
      const task = taskOf(s, c.req.param("id")!);
      const params = query(c);
      if (device !== undefined) {
        if (!DEVICE_ID_PATTERN.test(device) && device !== ALL_DEVICES) {
          throw new RequestError(404, `No device '${device.slice(0, 80)}'`);
        }
        if (params.has("device")) throw new RequestError(400, "The device is already in the path");
        params.set("device", device);
      }
      const q = parseBoardQuery(params, task.defaultDeviceId ?? ALL_DEVICES);
      return page(taskPage(s.data, task, selectBoard(s.data, task.id, q), q, links));
    });
  }

  app.get("/tasks/:id", (c) => taskView(c));
  app.get("/tasks/:id/device/:device", (c) => taskView(c, c.req.param("device")));

  app.get("/tasks/:id/leaderboard.csv", (c) =>
    cached(c, (s) => {
      const task = taskOf(s, c.req.param("id"));
      const q = parseBoardQuery(query(c), task.defaultDeviceId ?? ALL_DEVICES);
      return { status: 200, type: CSV, body: toCsv(selectBoard(s.data, task.id, q).rows) };
    }));

  app.get("/methods/:id", (c) =>
    cached(c, (s) => {
      noQuery(c);
      const id = checkId(c.req.param("id"), SLUG_PATTERN, "method");
      const method = s.data.methods.get(id);
      if (!method) throw new RequestError(404, `No method '${id}' in any loaded run`);
      return page(methodPage(s.data, method, methodInfo.get(id), links));
    }));

  app.get("/compare", (c) =>
    cached(c, (s) => {
      const params = query(c);
      for (const name of params.keys()) {
        if (name !== "a" && name !== "b") {
          throw new RequestError(
            400,
            `Unknown query parameter '${name.slice(0, 40)}': use a and b`,
          );
        }
      }
      const ids = ["a", "b"].map((name) => {
        const id = params.get(name);
        if (!id) throw new RequestError(400, `'${name}' must name a run: /compare?a=RUN&b=RUN`);
        if (!RUN_ID_PATTERN.test(id)) {
          throw new RequestError(400, `'${name}' is not a run id: got '${id.slice(0, 128)}'`);
        }
        return id;
      });
      const [a, b] = ids.map((id) => runOf(s, id));
      return page(comparePage(a, b, compareRuns(a, b), links));
    }));

  // --- static files: a fixed list, so there is nothing to list or traverse -------------------

  app.get("/static/:name", (c) => {
    const asset = assets.get(c.req.param("name"));
    if (!asset) throw new RequestError(404, `No static file '${c.req.param("name").slice(0, 80)}'`);
    if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304);
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": asset.type,
      "ETag": asset.etag,
      "Cache-Control": "public, max-age=3600",
    });
  });

  // --- JSON API ------------------------------------------------------------------------------

  app.get("/api/health", (c) => {
    const s = c.get("snapshot");
    return c.json({
      ok: s.folderError === null && s.skipped.length === 0,
      dir: s.dir,
      loadedAt: s.loadedAt,
      version: s.version,
      folderError: s.folderError,
      loaded: s.files.length,
      skippedCount: s.skipped.length,
      files: s.files,
      skipped: s.skipped,
    });
  });

  app.get("/api/runs", (c) => cached(c, (s) => json(s.data.runList)));
  app.get("/api/runs/:id", (c) => cached(c, (s) => json(runOf(s, c.req.param("id")))));
  app.get("/api/tasks", (c) => cached(c, (s) => json([...s.data.tasks.values()])));
  app.get("/api/tasks/:id/leaderboard", (c) =>
    cached(c, (s) => {
      const task = taskOf(s, c.req.param("id"));
      const q = parseBoardQuery(query(c), task.defaultDeviceId ?? ALL_DEVICES);
      const board = selectBoard(s.data, task.id, q);
      return json({
        task: task.id,
        device: q.device,
        includesUnverified: q.unverified,
        mainMetric: { name: task.metricName, higherIsBetter: task.higherIsBetter },
        rows: board.rows,
        frontier: board.frontier,
      });
    }));
  app.get(
    "/api/methods",
    (c) =>
      cached(
        c,
        (s) =>
          json(
            [...s.data.methods.values()].map((m) => ({ ...m, ...(methodInfo.get(m.id) ?? {}) })),
          ),
      ),
  );
  app.get("/api/schema", (c) => cached(c, () => json(runFileJsonSchema())));

  app.post("/api/runs", async (c) => {
    if (!token) throw new RequestError(404, "Submissions are not enabled on this server");
    const auth = c.req.header("authorization") ?? "";
    const given = auth.startsWith("Bearer ") ? auth.slice(7) : "";
    if (!given || !sameToken(given, token)) {
      c.header("WWW-Authenticate", 'Bearer realm="sparsebench"');
      throw new RequestError(
        401,
        "Submissions need 'Authorization: Bearer <token>' with the server's token",
      );
    }
    const body = await readLimited(c.req.raw, maxBytes);
    const runId = await storeSubmission(store.dir, body);
    await store.refresh();
    return c.json({ runId, verified: false, url: `/runs/${runId}` }, 201);
  });

  // --- errors: a message and a status, never a stack trace -----------------------------------

  app.notFound((c) => {
    const message = `No page at ${new URL(c.req.url).pathname.slice(0, 200)}`;
    return isApi(c.req.path)
      ? c.json({ error: message, status: 404 }, 404)
      : c.html(errorPage(404, message, links), 404);
  });

  app.onError((error, c) => {
    const known = error instanceof RequestError;
    const status = known ? error.status : 500;
    if (!known) console.error(`unexpected error on ${c.req.method} ${c.req.path}:`, error);
    const message = known ? error.message : "Something went wrong on our side; it has been logged.";
    const headers: Record<string, string> = {};
    const www = c.res.headers.get("WWW-Authenticate");
    if (www) headers["WWW-Authenticate"] = www;
    return isApi(c.req.path)
      ? c.json({ error: message, status }, status as 400, headers)
      : c.html(errorPage(status, message, links), status as 400, headers);
  });

  return app;
}
