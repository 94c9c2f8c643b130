// /devices: every device the loaded runs ran on, how many runs, per task each method's newest
// speed-up over dense there, and the best sparse method per device class. Speed-ups are same-run
// ratios, so they compare across devices; latencies are never set side by side here.
import { h } from "../html.ts";
import type { DeviceBoard, DeviceMethodFigure } from "../device_boards.ts";
import type { ClassBest } from "../device_boards.ts";
import { unverifiedBadge } from "./badges.ts";
import { num, sparsity, speedup, withCi } from "./format.ts";
import { layout } from "./layout.ts";
import { href, type Links } from "./links.ts";

function figureRow(f: DeviceMethodFigure, links: Links) {
  return h`<tr data-status="${f.status}"><td><a href="${
    href(links, `/methods/${f.methodId}`)
  }">${f.methodId}</a>${
    f.fidelity ? h` <span class="badge fidelity fidelity-${f.fidelity}">${f.fidelity}</span>` : ""
  }</td><td>${f.caseLabel}</td><td>${f.paramsText}</td><td>${
    f.status === "ok" ? speedup(f.speedup, f.speedupCi) : f.status
  }</td><td>${sparsity(f.realizedDensity)}</td><td>${f.metricName} ${
    withCi(f.metric, f.metricCi)
  }</td><td><a href="${href(links, `/runs/${f.runId}`)}">${f.runId}</a>${
    unverifiedBadge(f.verified)
  }</td></tr>`;
}

function deviceSection(board: DeviceBoard, links: Links) {
  const d = board.device;
  return h`<section class="device" id="device-${d.id}">
<h2>${d.label}</h2>
<p>${board.runs} run${board.runs === 1 ? "" : "s"} (${board.verifiedRuns} verified)${
    board.fromBrowser ? ", from the runner page" : ""
  }; ${d.software ? "software adapter (computes on the CPU)" : "GPU"}.</p>
${
    board.tasks.map((t) =>
      h`<h3><a href="${href(links, `/tasks/${t.taskId}/device/${d.id}`)}">${t.taskId}</a></h3>
<table class="board"><thead><tr><th>method</th><th>case</th><th>parameters</th><th>speed-up vs dense (95% CI)</th><th>sparsity (realized)</th><th>main metric (95% CI)</th><th>run</th></tr></thead>
<tbody>${t.figures.map((f) => figureRow(f, links))}</tbody></table>`
    )
  }
</section>`;
}

function bestTable(best: ClassBest[], links: Links) {
  if (best.length === 0) return h`<p>No sparse method has a speed-up on any device yet.</p>`;
  return h`<table class="board" id="best-sparse"><thead><tr><th>device class</th><th>task</th><th>method</th><th>speed-up vs dense (95% CI)</th><th>sparsity (realized)</th><th>main metric</th><th>device</th></tr></thead><tbody>${
    best.map((b) =>
      h`<tr><td>${b.deviceClass}</td><td>${b.taskId}</td><td><a href="${
        href(links, `/methods/${b.figure.methodId}`)
      }">${b.figure.methodId}</a></td><td>${
        speedup(b.figure.speedup, b.figure.speedupCi)
      }</td><td>${sparsity(b.figure.realizedDensity)}</td><td>${b.figure.metricName} ${
        num(b.figure.metric)
      }</td><td>${b.deviceLabel}${unverifiedBadge(b.figure.verified)}</td></tr>`
    )
  }</tbody></table>`;
}

/**
 * The devices page.
 *
 * @param boards from deviceBoards()
 * @param links how links are written
 */
export function devicesPage(
  boards: { devices: DeviceBoard[]; best: ClassBest[] },
  links: Links,
): string {
  const body = h`<h1>Devices</h1>
<p>Every device a loaded run measured on: a GPU is its adapter and backend; a software adapter
also its host CPU; a run from <a href="${
    href(links, "/run")
  }">the runner page</a> is its adapter.info vendor, architecture and device with the browser's
major version and OS family. Speed-ups are over the dense baseline of the same run, so they compare
across devices; latencies do not.</p>
<h2>Best sparse method per device class</h2>
<p>The highest speed-up per task among sparse methods that passed the correctness gate (not the
baseline, not a stand-in or an oracle), on any device of the class, with its run's quality:
a sparse method trades quality for speed, so read the two together.</p>
${bestTable(boards.best, links)}
${boards.devices.map((b) => deviceSection(b, links))}`;
  return layout({ title: "Devices", links, body });
}
