// /run: the benchmark in the visitor's browser. The page is static text plus the bundled runner
// (/static/runner.js, built by `deno task bundle-browser`), which draws the choices and results.
// It lists exactly what a submission sends, and sends nothing until the consent box is ticked.
import { h } from "../html.ts";
import { layout } from "./layout.ts";
import { href, type Links } from "./links.ts";

/** What the run page needs to know about the server it is on. */
export interface RunPageOptions {
  links: Links;
  /** Whether /static/runner.js exists (the bundle was built before the server started). */
  bundled: boolean;
  /** Whether this server stores submissions from the page (`--accept-browser-runs`). */
  acceptsBrowserRuns: boolean;
}

/** The fields a submission carries, as the page lists them. */
export const SENT_FIELDS = [
  "the run file you can download below: the profile, seed and the tasks and methods chosen; per cell the method (id, version, parameters), the task case and the sha256 of its generated inputs, the correctness check's verdict, quality metrics, every timed sample, setup times, sparsity and speed-ups",
  "your GPU as WebGPU's adapter.info gives it: vendor, architecture and device, whether it is a fallback adapter, and whether timestamp queries were used",
  "your browser's name and major version, your OS family (e.g. linux, windows, macos), and whether the page was cross-origin isolated",
  "the commit of sparsebench the page was built from",
] as const;

/** What a submission never carries. */
export const NOT_SENT =
  "Not sent: the adapter's description string, the user-agent string, CPU model, core count, memory, screen, language, time zone or anything typed. The server keeps your address in memory only for its per-client rate limit, and does not store it.";

/**
 * The runner page.
 *
 * @param options links, whether the bundle exists and whether submissions are accepted
 * @returns the HTML document
 */
export function runnerPage(options: RunPageOptions): string {
  const { links, bundled, acceptsBrowserRuns } = options;
  const submitUrl = acceptsBrowserRuns && !links.static ? href(links, "/api/runs") : "";
  const body = h`<h1>Run the benchmark on your GPU</h1>
<p>The same WGSL kernels, CPU references and correctness gate as <code>deno task bench</code>, bundled
for the browser, run on your WebGPU adapter. Each cell is timed against its task's dense baseline in
this run; a cell whose GPU output fails the gate gets no latency. Timing uses timestamp queries where
the adapter has them (every sample spans at least 100 steps of their clock), else wall time.</p>
${
    bundled ? "" : h`<p class="error-message">The runner is not built on this server: run
<code>deno task bundle-browser</code>, then restart it.</p>`
  }
<section id="choices" class="run-choices"></section>
<p><button id="start" type="button" disabled>Start</button> <span id="run-summary"></span></p>
<p id="run-error" class="error-message"></p>
<table id="progress" class="board" data-devices-url="${href(links, "/api/devices")}">
<thead><tr><th>task</th><th>method</th><th>parameters</th><th>status</th><th>latency p50 (95% CI)</th><th>speed-up vs dense (95% CI)</th><th>gate / reason</th><th>leaderboard: same device, else same class</th></tr></thead>
<tbody></tbody>
</table>
<p><a id="download" hidden>Download the run file (JSON)</a></p>
<section id="submission" hidden data-submit-url="${submitUrl}">
<h2>Send it to the leaderboard</h2>
<p>Runs from browsers are stored <strong>unverified</strong> and listed under their own device.
Sending is optional and happens only when you tick the box and press the button. What is sent:</p>
<ul id="sent-fields">${SENT_FIELDS.map((f) => h`<li>${f}</li>`)}</ul>
<p>${NOT_SENT}</p>
<p>The device fields of this run:</p>
<pre id="sent-preview"></pre>
<p><label><input type="checkbox" id="consent"> I agree to send this run file to ${
    links.static ? "this site" : "this server"
  }.</label>
<button id="submit" type="button" disabled>Send</button> <span id="submit-status"></span></p>
</section>
<p>Runs already sent: <a href="${href(links, "/devices")}">devices</a>, <a href="${
    href(links, "/runs")
  }">runs</a>.</p>`;
  return layout({
    title: "Run in your browser",
    links,
    body,
    modules: bundled ? ["/static/runner.js"] : [],
  });
}
