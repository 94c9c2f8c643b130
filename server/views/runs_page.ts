// /runs and /runs/:id: the list of runs, and one run's environment and every cell.
import type { Aggregates } from "../aggregate.ts";
import { formatParams } from "../aggregate.ts";
import type { Cell, RunFile } from "../../bench/results/schema.ts";
import { deviceOf } from "../devices.ts";
import { latencyOf, metricOf, speedupOf } from "../figures.ts";
import { h } from "../html.ts";
import { date, num, sparsity, speedup, withCi } from "./format.ts";
import { layout } from "./layout.ts";
import { href, type Links } from "./links.ts";
import { fidelityBadge, noisyBadge, unverifiedBadge } from "./badges.ts";

/** The list of every run, newest first, with a form to compare two of them. */
export function runsPage(data: Aggregates, links: Links): string {
  const link = (p: string) => href(links, p);
  const body = h`<h1>Runs</h1>
${
    links.static ? "" : h`<form class="filters" method="get" action="${link("/compare")}">
<label>Compare <input name="a" required pattern="[A-Za-z0-9][A-Za-z0-9._-]*" placeholder="older run id"></label>
<label>with <input name="b" required pattern="[A-Za-z0-9][A-Za-z0-9._-]*" placeholder="newer run id"></label>
<button type="submit">Compare</button></form>`
  }
<table class="board sortable"><thead><tr><th>Run</th><th>Started</th><th>Profile</th><th>Status</th><th>Device</th><th>Cells</th><th>Failures</th><th>Families</th></tr></thead>
<tbody>${
    data.runList.map((r) =>
      h`<tr><td><a href="${link(`/runs/${r.runId}`)}">${r.runId}</a>${
        unverifiedBadge(r.verified)
      }</td><td data-v="${r.startedAt}">${
        date(r.startedAt)
      }</td><td>${r.profile}</td><td>${r.status}</td><td>${
        data.devices.get(r.deviceId)?.label ?? r.deviceId
      }</td><td class="num" data-v="${r.cells}">${r.cells}</td><td class="num" data-v="${r.failures}">${r.failures}</td><td>${
        r.families.join(", ")
      }</td></tr>`
    )
  }</tbody></table>`;
  return layout({ title: "Runs", links, body });
}

function samplingText(o: RunFile["options"]): string {
  const adaptive = o.targetRelativeHalfWidth === null
    ? ""
    : `, adaptive until the median is within ±${num(o.targetRelativeHalfWidth * 100)}%`;
  const cap = o.maxRuns > o.runs ? `${o.runs} to ${o.maxRuns}` : String(o.runs);
  return `${o.warmup} / ${cap}${adaptive}`;
}

/** A cell's label badge: the run file's, else the method's known label marked as today's. */
function labelOf(data: Aggregates, c: Cell) {
  if (c.method.fidelity) return fidelityBadge(c.method.fidelity, "run");
  return fidelityBadge(data.methods.get(c.method.id)?.fidelity ?? null, "catalog");
}

/** One run: environment, failures with their reasons, and every cell. */
export function runPage(data: Aggregates, run: RunFile, links: Links): string {
  const link = (p: string) => href(links, p);
  const env = run.environment;
  const gpu = env.gpu;
  const index = data.runList.findIndex((r) => r.runId === run.runId);
  const previous = data.runList.slice(index + 1).find((r) => r.verified);
  const facts: [string, string][] = [
    ["Status", run.status],
    ["Profile", run.profile],
    ["Seed", String(run.seed)],
    ["Started", date(run.startedAt)],
    ["Ended", date(run.endedAt)],
    ["Verified", run.verified ? "yes" : "no: submitted from another machine"],
    ["Device (as grouped)", deviceOf(run).label],
    ["Adapter", gpu ? `${gpu.description} (${gpu.vendor}, ${gpu.architecture})` : "none"],
    ["Backend", gpu ? `${gpu.backend}${gpu.isFallbackAdapter ? ", fallback adapter" : ""}` : "–"],
    ["Timestamp queries", gpu ? String(gpu.timestampQuery) : "–"],
    ["No GPU because", env.gpuUnavailableReason ?? "–"],
    ["Deno / V8 / TypeScript", `${env.deno} / ${env.v8} / ${env.typescript}`],
    ["OS", `${env.os} ${env.osRelease} (${env.arch})`],
    ["CPU", `${env.cpuModel}, ${env.cores} cores, ${num(env.memoryBytes / 2 ** 30)} GiB`],
    ["Git", `${env.git.commit ?? "unknown"}${env.git.dirty ? " (dirty)" : ""}`],
    ["Warm-up / timed samples", samplingText(run.options)],
    ...(run.upgradedFrom === undefined ? [] : [[
      "Schema",
      `read from schema ${run.upgradedFrom}: no raw samples, so no median or speed-up intervals`,
    ] as [string, string]]),
  ];
  const failures = run.cells.filter((c) => c.status !== "ok");
  const body = h`<h1>Run ${run.runId}${unverifiedBadge(run.verified)}</h1>
${
    previous && !links.static
      ? h`<p><a href="${
        link(`/compare?a=${previous.runId}&b=${run.runId}`)
      }">Compare with the previous verified run (${previous.runId})</a></p>`
      : ""
  }
<h2>Environment</h2>
<table class="facts">${facts.map(([k, v]) => h`<tr><th>${k}</th><td>${v}</td></tr>`)}</table>
<h2>Failures</h2>
${
    failures.length
      ? h`<table class="board"><thead><tr><th>Task</th><th>Method</th><th>Parameters</th><th>Status</th><th>Reason</th></tr></thead><tbody>${
        failures.map((c) =>
          h`<tr><td>${c.task.id}</td><td>${c.method.title}${labelOf(data, c)}</td><td>${
            formatParams(c.method.params)
          }</td><td class="status-${c.status}">${c.status}</td><td><pre class="error">${
            c.error ?? ""
          }</pre></td></tr>`
        )
      }</tbody></table>`
      : h`<p>None.</p>`
  }
<h2>Cells</h2>
<table class="board sortable"><thead><tr><th>Task</th><th>Case</th><th>Method</th><th>Parameters</th><th>Status</th><th>Main metric</th><th>p50 (ms)</th><th>Samples</th><th>Speed-up</th><th>Realized sparsity</th></tr></thead>
<tbody>${
    run.cells.map((c) => {
      const lat = latencyOf(c);
      const m = metricOf(c);
      const up = speedupOf(c);
      return h`<tr><td><a href="${link(`/tasks/${c.task.id}`)}">${c.task.id}</a></td><td>${
        formatParams(c.task.case)
      }</td><td><a href="${link(`/methods/${c.method.id}`)}">${c.method.title}</a>${
        labelOf(data, c)
      }</td><td>${
        formatParams(c.method.params)
      }</td><td class="status-${c.status}">${c.status}</td><td class="num" data-v="${
        m?.value ?? ""
      }">${c.mainMetric.name} ${
        withCi(m?.value ?? null, m?.ci95 ?? null, 4)
      }</td><td class="num" data-v="${lat?.value ?? ""}">${
        withCi(lat?.value ?? null, lat?.ci95 ?? null)
      }${noisyBadge(lat?.noisy ?? null)}</td><td class="num">${
        lat?.samples ?? "–"
      }</td><td class="num" data-v="${up?.value ?? ""}">${
        speedup(up?.value ?? null, up?.ci95 ?? null)
      }</td><td class="num">${sparsity(c.sparsity?.realizedDensity ?? null)}</td></tr>`;
    })
  }</tbody></table>`;
  return layout({ title: `Run ${run.runId}`, links, body });
}
