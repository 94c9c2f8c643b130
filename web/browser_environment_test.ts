import { assertEquals } from "../tests/assert.ts";
import { browserClient, browserOf, osFamilyOf } from "./browser_environment.ts";

const HEADLESS =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";

Deno.test("browserOf() names the browser and its major version only", () => {
  assertEquals(
    browserOf({
      userAgent: HEADLESS,
      userAgentData: {
        brands: [{ brand: "Not:A-Brand", version: "8" }, { brand: "Chromium", version: "156" }],
      },
    }),
    { name: "HeadlessChrome", majorVersion: 156 },
  );
  assertEquals(
    browserOf({
      userAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/150.0.1.2 Safari/537.36",
      userAgentData: {
        brands: [
          { brand: "Google Chrome", version: "150" },
          { brand: "Chromium", version: "150" },
          { brand: "Not_A Brand", version: "24" },
        ],
      },
    }),
    { name: "Chrome", majorVersion: 150 },
  );
  assertEquals(
    browserOf({
      userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
    }),
    { name: "Firefox", majorVersion: 140 },
  );
  assertEquals(
    browserOf({
      userAgent:
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Safari/605.1.15",
    }),
    { name: "Safari", majorVersion: 26 },
  );
  assertEquals(
    browserOf({ userAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/150.0 Safari/537.36 Edg/150.0" }),
    { name: "Edge", majorVersion: 150 },
  );
  assertEquals(browserOf({ userAgent: "curl/8" }), { name: "unknown", majorVersion: 0 });
});

Deno.test("osFamilyOf() gives a family, never a version", () => {
  assertEquals(osFamilyOf({ userAgent: HEADLESS }), "linux");
  assertEquals(osFamilyOf({ userAgent: "Mozilla/5.0 (Linux; Android 15; Pixel 9)" }), "android");
  assertEquals(
    osFamilyOf({ userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)" }),
    "ios",
  );
  assertEquals(
    osFamilyOf({ userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)" }),
    "macos",
  );
  assertEquals(osFamilyOf({ userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" }), "windows");
  assertEquals(osFamilyOf({ userAgent: "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0)" }), "chromeos");
  assertEquals(osFamilyOf({ userAgent: "" }), "unknown");
});

Deno.test("browserClient() records the isolation flag beside the browser and OS family", () => {
  assertEquals(browserClient({ userAgent: HEADLESS }, false), {
    name: "HeadlessChrome",
    majorVersion: 156,
    osFamily: "linux",
    crossOriginIsolated: false,
  });
});
