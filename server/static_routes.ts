// /static/:name: the page script, style and chart.js from a fixed list, so there is nothing to
// list or traverse; /static/assets/:sha256/:name: the runner's pinned data files, by content
// hash, so they never change under a URL and are cached for good. Conditional requests are
// answered by the etag middleware in app.ts.
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Asset } from "./assets.ts";
import type { Env } from "./response_cache.ts";

/**
 * The static files as a sub-app, to be mounted at /static.
 *
 * @param assets the files by name, each with its precomputed ETag
 * @returns the sub-app
 */
export function staticRoutes(assets: ReadonlyMap<string, Asset>): Hono<Env> {
  const app = new Hono<Env>();
  app.get("/:name", (c) => {
    const name = c.req.param("name");
    const asset = assets.get(name);
    if (!asset) throw new HTTPException(404, { message: `No static file '${name.slice(0, 80)}'` });
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": asset.type,
      "ETag": asset.etag,
      "Cache-Control": "public, max-age=3600",
    });
  });
  app.get("/assets/:sha/:name", async (c) => {
    const key = `assets/${c.req.param("sha")}/${c.req.param("name")}`;
    const listed = assets.get(key);
    const asset = listed?.load ? await listed.load() : listed;
    if (!asset) {
      throw new HTTPException(404, {
        message: listed
          ? `The file behind '${key}' is gone or changed since the runner was built: rebuild it with deno task bundle-browser`
          : `No pinned asset '${key.slice(0, 160)}'`,
      });
    }
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": asset.type,
      "ETag": asset.etag,
      "Cache-Control": "public, max-age=31536000, immutable",
      // onnxruntime-web starts its worker threads from its loader (an .mjs asset): a worker of the
      // cross-origin-isolated /run page must be isolated too, or the browser refuses to start it.
      "Cross-Origin-Embedder-Policy": "require-corp",
    });
  });
  return app;
}
