// Debian's chromium for the real-browser tests (the leaderboard's, server/browser_test.ts, and
// the runner page's, web/runner_browser_test.ts), launched headless by playwright-core: where it
// is, whether it is installed, and the flags that give it a WebGPU adapter on a machine without
// a GPU (SwiftShader, with timestamp queries; checked on Chromium 156), or no GPU at all.
import { type BrowserContext, chromium } from "playwright-core";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** Flags of every headless test browser: no sandbox (containers), no background traffic. */
export const HEADLESS_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * WebGPU on SwiftShader. `--disable-gpu` must not be among the flags: it turns WebGPU off. The
 * page must be a secure context (http://127.0.0.1 is; about:blank in playwright is not).
 */
export const WEBGPU_FLAGS = ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"];

/** No GPU process, for pages that draw only on 2D canvases (the leaderboard's charts). */
export const NO_GPU_FLAGS = ["--disable-gpu"];

/** Whether {@link CHROMIUM} is installed. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/**
 * A fresh headless browser with a throwaway profile; disposing it closes the browser and
 * removes the profile.
 *
 * @param args extra flags ({@link WEBGPU_FLAGS} or {@link NO_GPU_FLAGS})
 */
export async function launchChromium(args: string[] = []) {
  const profile = await Deno.makeTempDir({ prefix: "sparsebench-chromium-" });
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...HEADLESS_FLAGS, ...args],
    viewport: { width: 1400, height: 1100 },
    acceptDownloads: true,
  });
  return {
    context,
    async [Symbol.asyncDispose]() {
      await context.close();
      await Deno.remove(profile, { recursive: true });
    },
  };
}

/** Serves a fetch handler on 127.0.0.1 (a secure context) until disposed. */
export async function serveLocally(
  fetch: (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>,
) {
  const ac = new AbortController();
  const ready = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: (addr) => ready.resolve(addr.port),
  }, fetch);
  const port = await ready.promise;
  return {
    url: `http://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      ac.abort();
      await server.finished;
    },
  };
}
