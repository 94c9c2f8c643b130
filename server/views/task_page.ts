// /tasks/:id: the leaderboard table of one task and its quality/speed-up scatter.
import type { Aggregates, Board, Row, TaskSummary } from "../aggregate.ts";
import { ALL_DEVICES } from "../aggregate.ts";
import { COLUMNS } from "../columns.ts";
import { h, type Html, jsonForScript, trusted } from "../html.ts";
import type { BoardQuery } from "../query.ts";
import { noisyBadge, unverifiedBadge } from "./badges.ts";
import { layout } from "./layout.ts";
import { href, type Links } from "./links.ts";

function queryString(q: BoardQuery, changes: Partial<Record<string, string | null>>): string {
  const params = new URLSearchParams();
  const base: Record<string, string | null> = {
    device: q.device,
    density_min: q.densityMin === null ? null : String(q.densityMin),
    density_max: q.densityMax === null ? null : String(q.densityMax),
    unverified: q.unverified ? "1" : null,
    sort: q.sort,
    dir: q.sort ? q.dir : null,
    ...changes,
  };
  for (const [k, v] of Object.entries(base)) if (v !== null && v !== undefined) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : "";
}

function cell(row: Row, key: string, text: string, links: Links): Html {
  const value = COLUMNS.find((c) => c.key === key)!.sortValue(row);
  const data = value === null ? "" : String(value);
  switch (key) {
    case "method":
      return h`<td data-v="${data}"><a href="${
        href(links, `/methods/${row.methodId}`)
      }">${text}</a>${row.isReference ? h` <span class="badge ref">dense baseline</span>` : ""}${
        unverifiedBadge(row.verified)
      }</td>`;
    case "label":
      return h`<td data-v="${data}" class="${
        row.fidelity ? `fidelity-${row.fidelity.level}` : ""
      }" title="${
        (row.fidelity?.reason ?? "no label in this run file") +
        (row.fidelityFrom === "catalog" ? " (today's label: the run file predates labels)" : "")
      }">${text}</td>`;
    case "run":
      return h`<td data-v="${data}"><a href="${
        href(links, `/runs/${row.runId}`)
      }">${text}</a></td>`;
    case "latency":
      return h`<td data-v="${data}" class="num">${text}${noisyBadge(row.noisy)}</td>`;
    case "status":
      return h`<td data-v="${data}" class="status-${row.status}" title="${
        row.error ?? ""
      }">${text}</td>`;
    default:
      return h`<td data-v="${data}" class="${typeof value === "number" ? "num" : ""}">${text}</td>`;
  }
}

/** The leaderboard table; its headers link to server-side sorting and app.js sorts in place. */
export function boardTable(board: Board, q: BoardQuery, links: Links): Html {
  const frontier = new Set(board.frontier);
  const head = COLUMNS.map((c) => {
    const dir = q.sort === c.key && q.dir === "desc" ? "asc" : "desc";
    const sortHref = links.static ? "#" : `?${queryString(q, { sort: c.key, dir }).slice(1)}`;
    const current = q.sort === c.key ? ` aria-sort="${q.dir}ending"` : "";
    return h`<th data-key="${c.key}"${trusted(current)}><a href="${sortHref}">${c.label}</a></th>`;
  });
  const body = board.rows.map((r, i) =>
    h`<tr class="${frontier.has(i) ? "pareto" : ""}" data-device="${r.deviceId}">${
      COLUMNS.map((c) => cell(r, c.key, c.text(r), links))
    }</tr>`
  );
  return h`<table class="board sortable" id="board">
<thead><tr>${head}</tr></thead>
<tbody>${body}</tbody>
</table>`;
}

/** Which frontier a point belongs to: one per device and case, or shape and band (frontierOf). */
function seriesOf(r: Board["rows"][number]): string {
  return r.densityBand === null
    ? `${r.caseLabel} · ${r.deviceLabel}`
    : `${r.shapeKey} · density ${r.densityBand} · ${r.deviceLabel}`;
}

function chartData(board: Board, task: TaskSummary, links: Links) {
  const frontier = new Set(board.frontier);
  const points = board.rows.flatMap((r, i) =>
    r.status === "ok" && r.speedup !== null && r.metric !== null
      ? [{
        x: r.speedup,
        xCi: r.speedupCi,
        y: r.metric,
        noisy: r.noisy === true,
        label: `${r.methodTitle}${r.paramsText ? ` (${r.paramsText})` : ""} · ${r.caseLabel}${
          r.fidelity && r.fidelity.level !== "faithful" ? ` [${r.fidelity.level}]` : ""
        }`,
        href: href(links, `/methods/${r.methodId}`),
        frontier: frontier.has(i),
        series: seriesOf(r),
        reference: r.isReference,
      }]
      : []
  );
  return {
    kind: "scatter",
    metric: task.metricName,
    higherIsBetter: task.higherIsBetter,
    points,
  };
}

/**
 * Quality against realized density for the rows that have a density band: one series per
 * method, shape (the case without its target density) and device, sparsest point first.
 */
function densityChartData(board: Board, task: TaskSummary) {
  const series = new Map<string, {
    label: string;
    points: {
      x: number;
      y: number;
      yCi: [number, number] | null;
      speedup: number | null;
      tuned: boolean;
    }[];
  }>();
  for (const r of board.rows) {
    if (r.status !== "ok" || r.densityBand === null || r.isReference) continue;
    if (r.realizedDensity === null || r.metric === null) continue;
    const label = `${r.methodTitle} · ${r.shapeKey} · ${r.deviceLabel}`;
    const s = series.get(label) ?? { label, points: [] };
    s.points.push({
      x: r.realizedDensity,
      y: r.metric,
      yCi: r.metricCi,
      speedup: r.speedup,
      tuned: r.tuning !== null,
    });
    series.set(label, s);
  }
  for (const s of series.values()) s.points.sort((a, b) => a.x - b.x);
  return {
    kind: "curves",
    metric: task.metricName,
    higherIsBetter: task.higherIsBetter,
    series: [...series.values()].sort((a, b) => a.label.localeCompare(b.label)),
  };
}

function densityChart(board: Board, task: TaskSummary): Html {
  const data = densityChartData(board, task);
  if (data.series.length === 0) return h``;
  return h`<figure class="chart"><div class="chart-box"><canvas id="density-chart" role="img" aria-label="${task.metricName} against realized density"></canvas></div>
<figcaption>${task.metricName} against realized density, one line per method and shape (own
parameters and tuned targets together). Rows are compared within their density band: the frontier
(◆) and "best" never set a cell against one that attended a different share of keys.</figcaption></figure>
<script type="application/json" id="density-chart-data">${jsonForScript(data)}</script>`;
}

function deviceFilter(data: Aggregates, task: TaskSummary, q: BoardQuery, links: Links): Html {
  const ids = [ALL_DEVICES, ...task.deviceIds];
  const label = (id: string) =>
    id === ALL_DEVICES ? "all devices (not comparable)" : data.devices.get(id)?.label ?? id;
  if (links.static) {
    return h`<p class="devices">Device: ${
      ids.map((id) =>
        id === q.device
          ? h`<strong>${label(id)}</strong> `
          : h`<a href="${href(links, `/tasks/${task.id}/device/${id}`)}">${label(id)}</a> `
      )
    }</p>`;
  }
  return h`<form class="filters" method="get" action="">
<label>Device <select name="device">${
    ids.map((id) =>
      h`<option value="${id}"${id === q.device ? h` selected` : ""}>${label(id)}</option>`
    )
  }</select></label>
<label>Density from <input name="density_min" type="number" min="0" max="1" step="0.01" value="${
    q.densityMin ?? ""
  }"></label>
<label>to <input name="density_max" type="number" min="0" max="1" step="0.01" value="${
    q.densityMax ?? ""
  }"></label>
<label><input type="checkbox" name="unverified" value="1"${
    q.unverified ? h` checked` : ""
  }> include unverified</label>
<button type="submit">Apply</button>
</form>`;
}

/** The whole /tasks/:id page. */
export function taskPage(
  data: Aggregates,
  view: { task: TaskSummary; board: Board; q: BoardQuery; links: Links },
): string {
  const { task, board, q, links } = view;
  const device = data.devices.get(q.device);
  const csv = href(links, `/tasks/${task.id}/leaderboard.csv`) +
    (links.static ? "" : queryString(q, {}));
  const body = h`<h1>${task.id}</h1>
<p class="lede">Family <strong>${task.family}</strong> · version ${task.version} · main metric
<strong>${task.metricName}</strong> (${task.higherIsBetter ? "higher" : "lower"} is better) ·
${task.runIds.length} runs · ${task.methodIds.length} methods</p>
${deviceFilter(data, task, q, links)}
<p class="note">Showing ${board.rows.length} rows on <strong>${
    device ? device.label : "all devices"
  }</strong>${
    q.unverified ? ", including unverified submissions" : ", verified runs only"
  }: the latest result of
each method, parameters and case. Rows on the Pareto frontier of quality against speed-up are marked ◆.
Every row carries its method's label (faithful, simplified, stand-in, oracle, peer, baseline; hover
for the reason, * for today's label on a run file written before labels): a stand-in's figures are its
heuristic's, not the paper's method, and an oracle's are an upper bound.
<a href="${csv}">Download CSV</a> · <a href="${
    href(links, `/api/tasks/${task.id}/leaderboard`)
  }">JSON</a></p>
<div class="board-wrap">
<figure class="chart"><div class="chart-box"><canvas id="chart" role="img" aria-label="${task.metricName} against speed-up"></canvas></div>
<figcaption>${task.metricName} against speed-up over the dense baseline; the line is the Pareto frontier.</figcaption></figure>
<script type="application/json" id="chart-data">${
    jsonForScript(chartData(board, task, links))
  }</script>
${densityChart(board, task)}
${
    board.rows.length
      ? boardTable(board, q, links)
      : h`<p class="empty">No results match these filters.</p>`
  }
</div>`;
  return layout({ title: task.id, links, body, charts: true });
}
