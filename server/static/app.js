// Enhancements of the server-rendered pages: click-to-sort tables and the chart.js charts.
// Every page works without this file; it only reads what the HTML already holds.
"use strict";

function sortValue(cell) {
  const text = cell.getAttribute("data-v");
  const raw = text === null ? cell.textContent.trim() : text;
  if (raw === "") return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : raw.toLowerCase();
}

function sortTable(table, index, th) {
  const body = table.tBodies[0];
  if (!body) return;
  const next = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
  const sign = next === "ascending" ? 1 : -1;
  const rows = Array.from(body.rows).map((row, i) => ({ row, i, v: sortValue(row.cells[index]) }));
  rows.sort((a, b) => {
    if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
    const c = typeof a.v === "number" && typeof b.v === "number"
      ? a.v - b.v
      : String(a.v).localeCompare(String(b.v));
    return c === 0 ? a.i - b.i : sign * c;
  });
  for (const other of table.tHead.rows[0].cells) other.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", next);
  for (const r of rows) body.appendChild(r.row);
}

function enableSorting() {
  for (const table of document.querySelectorAll("table.sortable")) {
    if (!table.tHead) continue;
    Array.from(table.tHead.rows[0].cells).forEach((th, index) => {
      th.style.cursor = "pointer";
      th.addEventListener("click", (event) => {
        event.preventDefault();
        sortTable(table, index, th);
      });
    });
  }
}

function scatter(canvas, data) {
  const plain = data.points.filter((p) => !p.frontier);
  // One frontier per case (and device): different shapes are not comparable.
  const palette = ["#2952cc", "#c2410c", "#15803d", "#7e22ce", "#0e7490", "#b91c1c"];
  const series = [...new Set(data.points.filter((p) => p.frontier).map((p) => p.series))];
  const frontiers = series.map((name, i) => ({
    label: `frontier: ${name}`,
    data: data.points.filter((p) => p.frontier && p.series === name).sort((a, b) => a.x - b.x),
    showLine: true,
    borderColor: palette[i % palette.length],
    backgroundColor: palette[i % palette.length],
    pointRadius: 5,
    pointStyle: "rectRot",
  }));
  new Chart(canvas, {
    type: "scatter",
    data: {
      datasets: [
        ...frontiers,
        {
          label: "other results",
          data: plain,
          borderColor: "#98a2b3",
          backgroundColor: "rgba(152,162,179,.6)",
          pointRadius: 4,
        },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: { type: "logarithmic", title: { display: true, text: "speed-up over dense (×, log)" } },
        y: {
          title: {
            display: true,
            text: `${data.metric} (${data.higherIsBetter ? "higher" : "lower"} is better)`,
          },
          reverse: !data.higherIsBetter,
        },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (ctx) =>
              `${ctx.raw.label}: ${ctx.raw.y.toPrecision(4)} at ×${ctx.raw.x.toPrecision(3)}${
                ctx.raw.xCi
                  ? ` [${ctx.raw.xCi[0].toPrecision(3)}, ${ctx.raw.xCi[1].toPrecision(3)}]`
                  : ""
              }${ctx.raw.noisy ? " (noisy)" : ""}`,
          },
        },
      },
      onClick: (_event, elements, chart) => {
        const hit = elements[0];
        if (!hit) return;
        const point = chart.data.datasets[hit.datasetIndex].data[hit.index];
        if (point && typeof point.href === "string" && point.href.startsWith("/")) {
          globalThis.location.href = point.href;
        }
      },
    },
  });
}

const PALETTE = [
  "#2952cc",
  "#dc6803",
  "#067647",
  "#b42318",
  "#6941c6",
  "#0e9384",
  "#c11574",
  "#475467",
];

function trend(canvas, data) {
  const lines = data.series.map((s, i) => ({
    label: s.label,
    data: s.points.map((p) => ({ x: Date.parse(p.x), y: p.y })),
    borderColor: PALETTE[i % PALETTE.length],
    backgroundColor: PALETTE[i % PALETTE.length],
  }));
  // Each series' detected steps as large triangles on its first run at the new level.
  const steps = data.series.flatMap((s, i) =>
    (s.steps ?? []).length === 0 ? [] : [{
      label: `steps: ${s.label}`,
      type: "scatter",
      data: s.steps.map((p) => ({ x: Date.parse(p.x), y: p.y })),
      pointStyle: "triangle",
      pointRadius: 9,
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: "transparent",
    }]
  );
  new Chart(canvas, {
    type: "line",
    data: { datasets: [...lines, ...steps] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: {
          type: "linear",
          ticks: { callback: (v) => new Date(v).toISOString().slice(0, 10) },
          title: { display: true, text: "run date" },
        },
        y: { title: { display: true, text: data.yLabel } },
      },
    },
  });
}

// Quality against realized density, one line per method and shape: how a method trades quality
// for keys attended, wherever its budget came from (its own sweep or a matched target).
function curves(canvas, data) {
  new Chart(canvas, {
    type: "scatter",
    data: {
      datasets: data.series.map((s, i) => ({
        label: s.label,
        data: s.points,
        showLine: true,
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        pointRadius: 4,
      })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: {
          type: "logarithmic",
          title: { display: true, text: "realized density (keys attended / visible, log)" },
        },
        y: {
          title: {
            display: true,
            text: `${data.metric} (${data.higherIsBetter ? "higher" : "lower"} is better)`,
          },
          reverse: !data.higherIsBetter,
        },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (ctx) =>
              `${ctx.dataset.label}: ${ctx.raw.y.toPrecision(4)}${
                ctx.raw.yCi
                  ? ` [${ctx.raw.yCi[0].toPrecision(3)}, ${ctx.raw.yCi[1].toPrecision(3)}]`
                  : ""
              } at density ${ctx.raw.x.toPrecision(3)}${
                ctx.raw.speedup === null ? "" : `, ×${ctx.raw.speedup.toPrecision(3)}`
              }${ctx.raw.tuned ? " (tuned)" : ""}`,
          },
        },
      },
    },
  });
}

function drawCharts() {
  const density = document.getElementById("density-chart");
  const densitySource = document.getElementById("density-chart-data");
  if (density && densitySource && typeof Chart !== "undefined") {
    curves(density, JSON.parse(densitySource.textContent));
  }
  const canvas = document.getElementById("chart");
  const source = document.getElementById("chart-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  if (data.kind === "scatter") scatter(canvas, data);
  else if (data.kind === "trend") trend(canvas, data);
}

document.addEventListener("DOMContentLoaded", () => {
  enableSorting();
  drawCharts();
});
