// A browser run's environment, coarse on purpose: the browser's brand and major version and the
// OS family (from User-Agent Client Hints where the browser has them, else the user-agent
// string, of which nothing else is kept), cross-origin isolation, the adapter fields of
// browser_gpu.ts, and the commit the bundle was built from. No CPU model, core count, memory,
// screen, language or time zone: the schema's host fields get empty placeholders.
import type { BrowserClient, Environment, GpuInfo } from "../bench/results/schema.ts";

/** The commit the bundle was built from, set by web/build.ts (esbuild `define`). */
export interface BuildInfo {
  commit: string | null;
  dirty: boolean | null;
}

/** The parts of navigator read: the user-agent string and, where present, its client hints. */
export interface NavigatorLike {
  userAgent: string;
  userAgentData?: { brands?: { brand: string; version: string }[]; platform?: string };
}

// Brands Chromium lists besides the real one ("Not.A/Brand" and friends are deliberate noise).
const GENERIC_BRANDS = /not.?a.?brand|^chromium$/i;
const BRAND_NAMES: Record<string, string> = {
  "Google Chrome": "Chrome",
  "Microsoft Edge": "Edge",
  "HeadlessChrome": "HeadlessChrome",
};

function fromClientHints(nav: NavigatorLike): { name: string; majorVersion: number } | null {
  const brands = nav.userAgentData?.brands ?? [];
  const real = brands.find((b) => !GENERIC_BRANDS.test(b.brand)) ??
    brands.find((b) => /^chromium$/i.test(b.brand));
  if (!real) return null;
  const major = Number.parseInt(real.version, 10);
  return {
    name: BRAND_NAMES[real.brand] ?? real.brand,
    majorVersion: Number.isFinite(major) ? major : 0,
  };
}

// Order matters: Edge and Opera say "Chrome/" too, Chrome says "Safari/".
const UA_BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, "Edge"],
  [/\bOPR\/(\d+)/, "Opera"],
  [/\bFirefox\/(\d+)/, "Firefox"],
  [/\bHeadlessChrome\/(\d+)/, "HeadlessChrome"],
  [/\bChrome\/(\d+)/, "Chrome"],
  [/\bVersion\/(\d+)[^]*\bSafari\//, "Safari"],
];

/**
 * The browser's brand and major version.
 *
 * @param nav navigator, or a stand-in with its user agent
 * @returns e.g. `{ name: "Chrome", majorVersion: 150 }`; `{ name: "unknown", majorVersion: 0 }`
 * @example browserOf({ userAgent: "Mozilla/5.0 … Firefox/140.0" }) // { name: "Firefox", majorVersion: 140 }
 */
export function browserOf(nav: NavigatorLike): { name: string; majorVersion: number } {
  const hinted = fromClientHints(nav);
  // Headless Chromium's hints say "Chromium"; its user agent says what it is.
  if (hinted && !(hinted.name === "Chromium" && /HeadlessChrome\//.test(nav.userAgent))) {
    return hinted;
  }
  for (const [pattern, name] of UA_BROWSERS) {
    const m = nav.userAgent.match(pattern);
    if (m) return { name, majorVersion: Number(m[1]) };
  }
  return { name: "unknown", majorVersion: 0 };
}

/**
 * The OS family: linux, windows, macos, android, ios, chromeos or unknown — never a version.
 *
 * @param nav navigator, or a stand-in
 */
export function osFamilyOf(nav: NavigatorLike): string {
  const text = `${nav.userAgentData?.platform ?? ""} ${nav.userAgent}`;
  if (/android/i.test(text)) return "android";
  if (/iphone|ipad|ipod|\bios\b/i.test(text)) return "ios";
  if (/cros|chrome os/i.test(text)) return "chromeos";
  if (/windows/i.test(text)) return "windows";
  if (/mac ?os|macintosh/i.test(text)) return "macos";
  if (/linux|x11/i.test(text)) return "linux";
  return "unknown";
}

/**
 * The client record of a browser run.
 *
 * @param nav navigator, or a stand-in
 * @param crossOriginIsolated the page's `crossOriginIsolated`
 */
export function browserClient(nav: NavigatorLike, crossOriginIsolated: boolean): BrowserClient {
  return { ...browserOf(nav), osFamily: osFamilyOf(nav), crossOriginIsolated };
}

/**
 * The run file's environment for a browser run. The host fields the schema requires are
 * placeholders (empty strings, 1 core, 0 bytes): the page does not read them, so the leaderboard
 * never groups a browser run by host (server/devices.ts).
 *
 * @param client from {@link browserClient}
 * @param gpu the adapter, or null with the reason
 * @param build the bundle's commit
 */
export function browserEnvironment(
  client: BrowserClient,
  gpu: { info: GpuInfo | null; unavailableReason: string | null },
  build: BuildInfo,
): Environment {
  return {
    deno: "",
    v8: "",
    typescript: "",
    os: client.osFamily,
    osRelease: "",
    arch: "",
    cpuModel: "",
    cores: 1,
    memoryBytes: 0,
    gpu: gpu.info,
    gpuUnavailableReason: gpu.info ? null : gpu.unavailableReason,
    git: { commit: build.commit, dirty: build.dirty },
  };
}
