// The leaderboard as a Hono app: the pages, the JSON API and the static files mounted as
// sub-apps, behind Hono's own secure-headers and etag middleware, with one error handler.
// Tests drive it with app.request(); main.ts serves it and site.ts exports it.
import { Hono } from "hono";
import { etag } from "hono/etag";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { apiRoutes } from "./api_routes.ts";
import { type Asset, loadAssets } from "./assets.ts";
import { pageRoutes } from "./page_routes.ts";
import { type Env, responseCache } from "./response_cache.ts";
import { staticRoutes } from "./static_routes.ts";
import type { ResultsStore } from "./store.ts";
import { MAX_SUBMISSION_BYTES } from "./submit.ts";
import { DEFAULT_SUBMISSION_RATE, type RateLimit } from "./rate_limit.ts";
import { errorPage } from "./views/error_page.ts";
import { type Links, SERVER_LINKS } from "./views/links.ts";
import type { MethodInfo } from "./catalog.ts";

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
  /**
   * Whether POST /api/runs stores runs from the runner page without a token (unverified,
   * `source: "browser"` only); default false (`deno task serve --accept-browser-runs`).
   */
  acceptBrowserRuns?: boolean;
  /** Submissions one client may make per window; default {@link DEFAULT_SUBMISSION_RATE}. */
  submissionRate?: RateLimit;
}

// Hono does not export the type of its CSP option, so it is taken from the function.
type CspOptions = NonNullable<
  NonNullable<Parameters<typeof secureHeaders>[0]>["contentSecurityPolicy"]
>;

/**
 * The Content-Security-Policy of every response: the site's own scripts and styles only (no
 * inline script or style anywhere, so no nonce is needed). 'wasm-unsafe-eval' lets the runner
 * page compile the MoE family's WebAssembly GEMM (bundled bytes); it allows no JavaScript eval.
 */
export const CSP_DIRECTIVES: CspOptions = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

function isApi(path: string): boolean {
  return path === "/api" || path.startsWith("/api/");
}

/** The status and message of a refused request; anything unexpected is a logged 500. */
async function describe(error: Error): Promise<{ status: number; message: string }> {
  if (!(error instanceof HTTPException)) {
    return { status: 500, message: "Something went wrong on our side; it has been logged." };
  }
  // Hono's middleware (bearerAuth) puts the message in a prepared response instead.
  const message = error.message || (await error.res?.text()) || `Request refused`;
  return { status: error.status, message };
}

/**
 * Builds the leaderboard app over a results store.
 *
 * @param options the store and optional settings
 * @returns the Hono app; `app.request(path)` runs a request without a socket
 * @throws {Error} when the submission token is one no client could send as a bearer token
 * @example const app = await createApp({ store: new ResultsStore("results/runs") });
 */
export async function createApp(options: AppOptions): Promise<Hono<Env>> {
  const store = options.store;
  const links = options.links ?? SERVER_LINKS;
  const token = options.submitToken === undefined
    ? Deno.env.get("SPARSEBENCH_SUBMIT_TOKEN") ?? null
    : options.submitToken;
  const methodInfo = options.methodInfo ?? new Map<string, MethodInfo>();
  const cached = responseCache(options.cacheEntries ?? 2000);
  const assets = options.assets ?? await loadAssets();
  const acceptBrowserRuns = options.acceptBrowserRuns ?? false;

  const app = new Hono<Env>();
  // Outermost, so error pages and 304s carry the headers too.
  app.use(
    "*",
    secureHeaders({ contentSecurityPolicy: CSP_DIRECTIVES, xFrameOptions: "DENY" }),
  );
  // Every response is built once per snapshot with its ETag, so a match costs no hashing.
  app.use("*", etag());
  app.use("*", async (c, next) => {
    c.set("snapshot", await store.current());
    await next();
  });

  app.route(
    "/api",
    apiRoutes({
      store,
      methodInfo,
      cached,
      submitToken: token || null,
      maxSubmissionBytes: options.maxSubmissionBytes ?? MAX_SUBMISSION_BYTES,
      acceptBrowserRuns,
      submissionRate: options.submissionRate ?? DEFAULT_SUBMISSION_RATE,
    }),
  );
  app.route("/static", staticRoutes(assets));
  app.route(
    "/",
    pageRoutes({
      links,
      methodInfo,
      cached,
      runnerBundled: assets.has("runner.js"),
      acceptsBrowserRuns: acceptBrowserRuns && !links.static,
    }),
  );

  // --- errors: a message and a status, never a stack trace -----------------------------------

  app.notFound((c) => {
    const message = `No page at ${new URL(c.req.url).pathname.slice(0, 200)}`;
    return isApi(c.req.path)
      ? c.json({ error: message, status: 404 }, 404)
      : c.html(errorPage(404, message, links), 404);
  });

  app.onError(async (error, c) => {
    const { status, message } = await describe(error);
    if (status === 500) console.error(`unexpected error on ${c.req.method} ${c.req.path}:`, error);
    const headers: Record<string, string> = {};
    // A refusal's own headers a client acts on: the auth challenge, when to retry.
    for (const name of ["WWW-Authenticate", "Retry-After"]) {
      const value = error instanceof HTTPException && error.res?.headers.get(name);
      if (value) headers[name] = value;
    }
    return isApi(c.req.path)
      ? c.json({ error: message, status }, status as 400, headers)
      : c.html(errorPage(status, message, links), status as 400, headers);
  });

  return app;
}
