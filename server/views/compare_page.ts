// /compare?a=&b=: two runs side by side with changes beyond the confidence intervals marked.
import type { RunFile } from "../../bench/results/schema.ts";
import type { ComparedCell, Verdict } from "../compare.ts";
import { deviceOf } from "../devices.ts";
import { h } from "../html.ts";
import { num, withCi } from "./format.ts";
import { layout } from "./layout.ts";
import { href, type Links } from "./links.ts";

function mark(v: Verdict) {
  return v === "regression"
    ? h`<span class="badge regression">regression</span>`
    : v === "improvement"
    ? h`<span class="badge improvement">improvement</span>`
    : "";
}

/** The comparison page. */
export function comparePage(a: RunFile, b: RunFile, cells: ComparedCell[], links: Links): string {
  const link = (p: string) => href(links, p);
  const da = deviceOf(a);
  const db = deviceOf(b);
  const counts = (v: Verdict) => cells.filter((c) => c.latency === v || c.metric === v).length;
  const body = h`<h1>Compare runs</h1>
<p class="lede"><a href="${link(`/runs/${a.runId}`)}">${a.runId}</a> (a) against <a href="${
    link(`/runs/${b.runId}`)
  }">${b.runId}</a> (b): ${counts("regression")} regressions, ${
    counts("improvement")
  } improvements beyond the 95% intervals.</p>
${
    da.id !== db.id
      ? h`<p class="warn">These runs were made on different devices (${da.label} and ${db.label}); their latencies are not comparable.</p>`
      : ""
  }
<table class="board sortable"><thead><tr><th>Task</th><th>Case</th><th>Method</th><th>Parameters</th><th>Metric a</th><th>Metric b</th><th>p50 a (ms)</th><th>p50 b (ms)</th><th>Change</th><th>Verdict</th></tr></thead>
<tbody>${
    cells.map((c) => {
      const la = c.a?.latency ? c.a.latency.kernel ?? c.a.latency.wall : null;
      const lb = c.b?.latency ? c.b.latency.kernel ?? c.b.latency.wall : null;
      const ma = c.a ? c.a.metrics[c.a.mainMetric.name] ?? null : null;
      const mb = c.b ? c.b.metrics[c.b.mainMetric.name] ?? null : null;
      const change = la && lb ? (lb.p50 / la.p50 - 1) * 100 : null;
      const cls = c.latency === "regression" || c.metric === "regression"
        ? "regression"
        : c.latency === "improvement" || c.metric === "improvement"
        ? "improvement"
        : "";
      return h`<tr class="${cls}"><td>${c.taskId}</td><td>${c.caseText}</td><td><a href="${
        link(`/methods/${c.methodId}`)
      }">${c.methodTitle}</a></td><td>${c.paramsText}</td><td class="num">${
        num(ma, 4)
      }</td><td class="num">${num(mb, 4)} ${mark(c.metric)}</td><td class="num">${
        withCi(la?.p50 ?? null, la?.ci95 ?? null)
      }</td><td class="num">${
        withCi(lb?.p50 ?? null, lb?.ci95 ?? null)
      }</td><td class="num" data-v="${change ?? ""}">${
        change === null ? "–" : `${change > 0 ? "+" : ""}${num(change, 3)}%`
      }</td><td>${mark(c.latency)}${c.a === null ? "only in b" : c.b === null ? "only in a" : ""}${
        c.a && c.b && c.b.status !== "ok" ? `b ${c.b.status}` : ""
      }</td></tr>`;
    })
  }</tbody></table>`;
  return layout({ title: `Compare ${a.runId} and ${b.runId}`, links, body });
}
