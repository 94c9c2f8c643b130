// /methods/:id: what the method is, its latest results on every task, and its trend over runs.
import type { Aggregates, MethodSummary, Row } from "../aggregate.ts";
import { ALL_DEVICES } from "../aggregate.ts";
import type { MethodInfo } from "../catalog.ts";
import { h, jsonForScript } from "../html.ts";
import { date, sparsity, speedup, withCi } from "./format.ts";
import { layout } from "./layout.ts";
import { href, type Links } from "./links.ts";
import { fidelityBadge, noisyBadge, unverifiedBadge } from "./badges.ts";
import { detectSteps } from "../steps.ts";

// The trend chart keeps the series with most points: a readable chart over a complete one.
const MAX_SERIES = 8;

interface TrendSeries {
  label: string;
  points: { x: string; y: number; runId: string; halfWidth: number }[];
  /** Steps the detector found in the series (server/steps.ts), at their first night. */
  steps: { x: string; y: number; runId: string; ratio: number }[];
}

function trend(rows: readonly Row[], data: Aggregates) {
  const series = new Map<string, TrendSeries>();
  for (const r of rows) {
    if (r.status !== "ok" || r.p50Ms === null || !r.verified) continue;
    const key = `${r.taskId}|${r.caseKey}|${r.paramsText}|${r.deviceId}`;
    const s = series.get(key) ?? {
      label: `${r.taskId} ${r.caseLabel}${r.paramsText ? ` · ${r.paramsText}` : ""} · ${
        data.devices.get(r.deviceId)?.label ?? r.deviceId
      }`,
      points: [],
      steps: [],
    };
    const halfWidth = r.p50Ci ? (r.p50Ci[1] - r.p50Ci[0]) / 2 : 0;
    s.points.push({ x: r.runStartedAt, y: r.p50Ms, runId: r.runId, halfWidth });
    series.set(key, s);
  }
  for (const s of series.values()) {
    const nights = s.points.map((p) => ({ runId: p.runId, value: p.y, halfWidth: p.halfWidth }));
    s.steps = detectSteps(nights).map((step) => ({
      x: s.points[step.at].x,
      y: s.points[step.at].y,
      runId: step.runId,
      ratio: step.ratio,
    }));
  }
  const kept = [...series.values()].sort((a, b) => b.points.length - a.points.length).slice(
    0,
    MAX_SERIES,
  );
  return { kind: "trend", yLabel: "p50 latency (ms)", series: kept };
}

/** The method page. */
export function methodPage(
  data: Aggregates,
  method: MethodSummary,
  info: MethodInfo | undefined,
  links: Links,
): string {
  const link = (p: string) => href(links, p);
  const latest: Row[] = [];
  for (const taskId of method.taskIds) {
    const board = data.boards.get(taskId)?.get(ALL_DEVICES)?.all;
    for (const r of board?.rows ?? []) if (r.methodId === method.id) latest.push(r);
  }
  const fidelity = method.fidelity ?? info?.fidelity ?? null;
  const chart = trend(data.methodRows.get(method.id) ?? [], data);
  const steps = chart.series.flatMap((se) => se.steps.map((st) => ({ ...st, label: se.label })));
  const body = h`<h1>${method.title}</h1>
<p class="lede"><code>${method.id}</code> · family <strong>${method.family}</strong> · versions ${
    method.versions.join(", ")
  } · ${method.runIds.length} runs</p>
<p class="${
    fidelity && ["stand-in", "oracle"].includes(fidelity.level) ? "warn" : "note"
  }">Label: <strong>${fidelity?.level ?? "unlabelled"}</strong>${
    fidelity ? h` — ${fidelity.reason}` : ""
  }${
    fidelity?.level === "stand-in"
      ? h`. Its figures are the stand-in's, not the paper's method, and it is left out of "best".`
      : fidelity?.level === "oracle"
      ? h`. An upper bound, not a contender: it is left out of "best".`
      : ""
  }</p>
${info?.description ? h`<p>${info.description}</p>` : ""}
${info?.notes ? h`<p class="note">Notes: ${info.notes}</p>` : ""}
${
    info?.paper
      ? h`<p>Paper: <a href="${
        /^https?:\/\//.test(info.paper.link) ? info.paper.link : "#"
      }" rel="noopener noreferrer">${info.paper.title}</a> (${info.paper.year})</p>`
      : ""
  }
${
    info?.parameters && Object.keys(info.parameters).length
      ? h`<h2>Parameters</h2><table class="facts">${
        Object.entries(info.parameters).map(([k, p]) =>
          h`<tr><th>${k}</th><td>${p.description} (default ${String(p.default ?? "–")})</td></tr>`
        )
      }</table>`
      : ""
  }
<h2>Latest results on every task</h2>
<table class="board sortable"><thead><tr><th>Task</th><th>Case</th><th>Label</th><th>Parameters</th><th>Main metric</th><th>p50 (ms)</th><th>Speed-up</th><th>Realized sparsity</th><th>Device</th><th>Status</th><th>Run</th></tr></thead>
<tbody>${
    latest.map((r) =>
      h`<tr><td><a href="${
        link(`/tasks/${r.taskId}`)
      }">${r.taskId}</a></td><td>${r.caseLabel}</td><td>${
        fidelityBadge(r.fidelity, r.fidelityFrom)
      }</td><td>${r.paramsText}</td><td class="num" data-v="${r.metric ?? ""}">${r.metricName} ${
        withCi(r.metric, r.metricCi, 4)
      }</td><td class="num" data-v="${r.p50Ms ?? ""}">${withCi(r.p50Ms, r.p50Ci)}${
        noisyBadge(r.noisy)
      }</td><td class="num" data-v="${r.speedup ?? ""}">${
        speedup(r.speedup, r.speedupCi)
      }</td><td class="num">${
        sparsity(r.realizedDensity)
      }</td><td>${r.deviceLabel}</td><td class="status-${r.status}" title="${
        r.error ?? ""
      }">${r.status}</td><td><a href="${link(`/runs/${r.runId}`)}">${r.runId}</a>${
        unverifiedBadge(r.verified)
      } <span class="muted">${date(r.runStartedAt)}</span></td></tr>`
    )
  }</tbody></table>
<h2>Trend over runs</h2>
<figure class="chart"><div class="chart-box"><canvas id="chart" role="img" aria-label="p50 latency over runs"></canvas></div>
<figcaption>p50 latency of each task, case and parameter setting over verified runs, per device; ▲
marks a step: a change that held for two runs and exceeded the series' own noise.</figcaption></figure>
<script type="application/json" id="chart-data">${jsonForScript(chart)}</script>
${
    steps.length === 0 ? "" : h`<h3>Detected steps</h3>
<table><thead><tr><th>series</th><th>first run at the new level</th><th class="num">p50 ratio</th></tr></thead><tbody>${
      steps.map((st) =>
        h`<tr><td>${st.label}</td><td><a href="${
          link(`/runs/${st.runId}`)
        }">${st.runId}</a></td><td class="num">×${st.ratio.toFixed(2)}</td></tr>`
      )
    }</tbody></table>`
  }`;
  return layout({ title: method.title, links, body, charts: true });
}
