// /compare?a=&b=: two runs side by side with changes beyond the 95% intervals marked; across
// devices latency is shown but not judged, and speed-ups are compared instead.
import type { Comparison, Verdict } from "../compare.ts";
import { h } from "../html.ts";
import { num, speedup, withCi } from "./format.ts";
import { fidelityBadge, noisyBadge } from "./badges.ts";
import { layout } from "./layout.ts";
import { href, type Links } from "./links.ts";

function mark(v: Verdict) {
  return v === "regression"
    ? h`<span class="badge regression">regression</span>`
    : v === "improvement"
    ? h`<span class="badge improvement">improvement</span>`
    : v === "no-interval"
    ? h`<span class="muted" title="one of the two has no interval">changed, no interval</span>`
    : "";
}

function rowClass(verdicts: Verdict[]): string {
  return verdicts.includes("regression")
    ? "regression"
    : verdicts.includes("improvement")
    ? "improvement"
    : "";
}

/** The comparison page. */
export function comparePage(cmp: Comparison, links: Links): string {
  const link = (p: string) => href(links, p);
  const { deviceA, deviceB } = cmp;
  const body = h`<h1>Compare runs</h1>
<p class="lede"><a href="${link(`/runs/${cmp.a}`)}">${cmp.a}</a> (a) against <a href="${
    link(`/runs/${cmp.b}`)
  }">${cmp.b}</a> (b): ${cmp.regressions} regressions, ${cmp.improvements} improvements beyond the 95% intervals.</p>
${
    cmp.sameDevice
      ? h`<p class="note">Both runs were made on ${deviceA.label}: latency, speed-up and quality are compared.</p>`
      : h`<p class="warn">These runs were made on different devices: a on <strong>${deviceA.label}</strong>; b on <strong>${deviceB.label}</strong>. Their latencies are not comparable, so no latency change is called an improvement or a regression; speed-ups over each run's own dense baseline are compared instead.</p>`
  }
<table class="board sortable"><thead><tr><th>Task</th><th>Case</th><th>Method</th><th>Parameters</th><th>Metric a</th><th>Metric b</th><th>p50 a (ms)</th><th>p50 b (ms)</th><th>Latency change</th><th>Speed-up a</th><th>Speed-up b</th><th>Verdict</th></tr></thead>
<tbody>${
    cmp.cells.map((c) => {
      const change = c.latencyChange === null ? null : c.latencyChange * 100;
      const la = c.a?.latency ?? null;
      const lb = c.b?.latency ?? null;
      return h`<tr class="${
        rowClass([c.latency, c.speedup, c.metric])
      }"><td>${c.taskId}</td><td>${c.caseText}</td><td><a href="${
        link(`/methods/${c.methodId}`)
      }">${c.methodTitle}</a>${
        fidelityBadge(c.fidelity, c.fidelityFrom)
      }</td><td>${c.paramsText}</td><td class="num">${
        num(c.a?.metric?.value, 4)
      }</td><td class="num">${num(c.b?.metric?.value, 4)} ${mark(c.metric)}</td><td class="num">${
        withCi(la?.value ?? null, la?.ci95 ?? null)
      }${noisyBadge(la?.noisy ?? null)}</td><td class="num">${
        withCi(lb?.value ?? null, lb?.ci95 ?? null)
      }${noisyBadge(lb?.noisy ?? null)}</td><td class="num" data-v="${change ?? ""}">${
        c.latency === "incomparable"
          ? h`<span class="muted">other device</span>`
          : change === null
          ? "–"
          : `${change > 0 ? "+" : ""}${num(change, 3)}%`
      } ${mark(c.latency)}</td><td class="num">${
        speedup(c.a?.speedup?.value ?? null, c.a?.speedup?.ci95 ?? null)
      }</td><td class="num">${speedup(c.b?.speedup?.value ?? null, c.b?.speedup?.ci95 ?? null)} ${
        mark(c.speedup)
      }</td><td>${c.a === null ? "only in b" : c.b === null ? "only in a" : ""}${
        c.a && c.b && c.b.status !== "ok" ? `b ${c.b.status}` : ""
      }</td></tr>`;
    })
  }</tbody></table>`;
  return layout({ title: `Compare ${cmp.a} and ${cmp.b}`, links, body });
}
