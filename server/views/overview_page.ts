// "/": what is in the leaderboard at a glance.
import { type Aggregates, BEST_EXCLUDES, type Row, type TaskSummary } from "../aggregate.ts";
import { h, type Html } from "../html.ts";
import { date, num, speedup } from "./format.ts";
import { layout } from "./layout.ts";
import { href, type Links } from "./links.ts";
import { fidelityBadge, noisyBadge, unverifiedBadge } from "./badges.ts";

function best(row: Row | null, links: Links): Html {
  if (!row) return h`–`;
  return h`<a href="${href(links, `/methods/${row.methodId}`)}">${row.methodTitle}</a>${
    fidelityBadge(row.fidelity, row.fidelityFrom)
  } <span class="muted">${row.paramsText}${row.paramsText ? " · " : ""}${row.caseLabel}</span>`;
}

/** Where the overview with every label in "best" lives (a query on the server, a page when static). */
export function anyLabelPath(links: Links): string {
  return links.static ? "/best-any-label" : "/?best=any";
}

/**
 * The overview page.
 *
 * @param data the aggregates
 * @param links how links are written
 * @param options `anyLabel`: "best" includes stand-ins and oracles
 */
export function overviewPage(
  data: Aggregates,
  links: Links,
  options: { anyLabel?: boolean } = {},
): string {
  const link = (p: string) => href(links, p);
  const anyLabel = options.anyLabel ?? false;
  type Best = Pick<
    TaskSummary,
    "bestQuality" | "fastest" | "bestQualityAnyLabel" | "fastestAnyLabel"
  >;
  const bestQuality = (t: Best) => anyLabel ? t.bestQualityAnyLabel : t.bestQuality;
  const fastest = (t: Best) => anyLabel ? t.fastestAnyLabel : t.fastest;
  // A task compared by density band gets one line per band: "best" stays within a band.
  const lines = (t: TaskSummary): { band: string | null; best: Best }[] =>
    t.bestByBand.length === 0
      ? [{ band: null, best: t }]
      : t.bestByBand.map((b) => ({ band: b.band, best: b }));
  const families = new Map<string, number>();
  for (const t of data.tasks.values()) families.set(t.family, (families.get(t.family) ?? 0) + 1);
  const latest = data.runList.find((r) => r.verified) ?? data.runList[0];
  const body = h`<h1>Leaderboard</h1>
<p class="lede">${data.runList.length} runs · ${data.tasks.size} tasks · ${data.methods.size} methods ·
${data.devices.size} devices. Families: ${
    [...families].map(([f, n]) => h`<span class="badge fam">${f} (${n})</span> `)
  }</p>
${
    latest
      ? h`<p>Latest run: <a href="${
        link(`/runs/${latest.runId}`)
      }">${latest.runId}</a> (${latest.profile}, ${date(latest.startedAt)}, ${
        data.devices.get(latest.deviceId)?.label ?? latest.deviceId
      })${unverifiedBadge(latest.verified)}</p>`
      : h`<p class="empty">No runs loaded yet. Run <code>deno task bench</code> or see <a href="${
        link("/api/health")
      }">health</a>.</p>`
  }
<h2>Tasks</h2>
<table class="board">
<thead><tr><th>Task</th><th>Family</th><th>Main metric</th><th>Best quality (sparse)</th><th>Its ${"metric"}</th><th>Fastest</th><th>Speed-up</th><th>Runs</th></tr></thead>
<tbody>${
    [...data.tasks.values()].flatMap((t) =>
      lines(t).map(({ band, best: b }) =>
        h`<tr><td><a href="${link(`/tasks/${t.id}`)}">${t.id}</a>${
          band === null ? "" : h` <span class="muted">density ${band}</span>`
        }</td><td>${t.family}</td><td>${t.metricName} (${t.higherIsBetter ? "↑" : "↓"})</td><td>${
          best(bestQuality(b), links)
        }</td><td class="num">${num(bestQuality(b)?.metric ?? null, 4)}</td><td>${
          best(fastest(b), links)
        }</td><td class="num">${
          speedup(fastest(b)?.speedup ?? null, fastest(b)?.speedupCi ?? null)
        }${noisyBadge(fastest(b)?.noisy ?? null)}</td><td class="num">${t.runIds.length}</td></tr>`
      )
    )
  }</tbody>
</table>
<p class="note">"Best" is computed on the device of each task's latest verified run, over verified runs only,
and for attention within each band of realized density (keys attended / visible), ${
    anyLabel
      ? h`<strong>including</strong> methods labelled ${
        BEST_EXCLUDES.join(" or ")
      } (a stand-in's figures are its heuristic's, not the paper's method; an oracle's are an upper bound). <a href="${
        link("/")
      }">Leave them out</a>.`
      : h`leaving out methods labelled ${
        BEST_EXCLUDES.join(" or ")
      } (a stand-in's figures are its heuristic's, not the paper's method; an oracle's are an upper bound). <a href="${
        link(anyLabelPath(links))
      }">Include them</a>.`
  } Every method carries its label (faithful, simplified, stand-in, oracle, peer, baseline; hover for the reason; * marks today's label on a run file written before labels).</p>
<h2>Methods</h2>
<ul class="cols">${
    [...data.methods.values()].map((m) =>
      h`<li><a href="${link(`/methods/${m.id}`)}">${m.title}</a>${
        fidelityBadge(m.fidelity)
      } <span class="muted">${m.family}</span></li>`
    )
  }</ul>
<h2>Devices seen</h2>
<table class="board"><thead><tr><th>Device</th><th>Vendor</th><th>Architecture</th><th>Backend</th><th>Host (part of the device for software adapters)</th><th>Runs</th></tr></thead>
<tbody>${
    [...data.devices.values()].map((d) =>
      h`<tr><td>${d.label}</td><td>${d.vendor}</td><td>${d.architecture}</td><td>${d.backend}</td><td>${
        d.host ? `${d.host.cpuModel}, ${d.host.cores} cores` : "–"
      }</td><td class="num">${d.runIds.length}</td></tr>`
    )
  }</tbody></table>`;
  return layout({ title: "Overview", links, body });
}
