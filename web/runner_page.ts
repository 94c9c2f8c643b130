/// <reference lib="dom" />
// The runner page's script (bundled by web/build.ts): draws the choices from what the browser
// build declares, runs them with web/browser_run.ts, fills the progress table as cells finish,
// offers the run file for download, and sends it to the server only once the visitor has ticked
// the consent box. The page (server/views/run_page.ts) says what is sent.
import type { Cell, RunFile } from "../bench/results/schema.ts";
import type { BuildInfo } from "./browser_environment.ts";
import { BROWSER_PROFILES, BrowserRunError, runInBrowser } from "./browser_run.ts";
import {
  BROWSER_FAMILIES,
  BROWSER_METHODS,
  BROWSER_TASKS,
  LEFT_OUT_FAMILIES,
  LEFT_OUT_METHODS,
  LEFT_OUT_TASKS,
} from "./capabilities.ts";
import { fingerprintOf, formatCell } from "./page_format.ts";
import { type DevicesDocument, leaderboardFigure } from "./leaderboard_figures.ts";
import { deviceClassOf, deviceOf } from "../server/devices.ts";
import { BrowserGpuProvider } from "./browser_gpu.ts";
import { probeKernel, type ProbeRequest, type ProbeResult } from "./kernel_probe.ts";
import { type AssetManifest, assetSource } from "./asset_source.ts";
import { useFileSource } from "../datasets/file_source.ts";
import { useOrtFiles } from "../bench/nn/ort.ts";
import { ortFilesFromAssets } from "./ort_assets.ts";

declare const SPARSEBENCH_BUILD: BuildInfo;
/** The data files the bundle pins (web/build.ts): path → sha256, size, name. */
declare const SPARSEBENCH_ASSETS: AssetManifest;

/** What tests and curious visitors can read once a run is done. */
declare global {
  var sparsebenchRun: RunFile | undefined;
  /** One kernel's output on seeded inputs: the browser test compares it with Deno's. */
  var sparsebenchKernelProbe: ((request: ProbeRequest) => Promise<ProbeResult>) | undefined;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

function setState(state: "idle" | "running" | "done" | "error"): void {
  document.body.dataset.runState = state;
}

function checkbox(name: string, value: string, checked: boolean, disabled = false) {
  const input = el("input", { type: "checkbox", name, value });
  input.checked = checked;
  input.disabled = disabled;
  return input;
}

function drawChoices(root: HTMLElement): void {
  const profiles = el("fieldset", {}, el("legend", {}, "Profile"));
  for (const p of BROWSER_PROFILES) {
    const input = el("input", { type: "radio", name: "profile", value: p });
    input.checked = p === "smoke";
    profiles.append(el("label", {}, input, ` ${p}`), " ");
  }
  const families = el("fieldset", {}, el("legend", {}, "Families"));
  for (const f of BROWSER_FAMILIES) {
    families.append(el("label", {}, checkbox("family", f, true), ` ${f}`), " ");
  }
  for (const [f, why] of Object.entries(LEFT_OUT_FAMILIES)) {
    families.append(
      el(
        "label",
        { title: why },
        checkbox("family", f, false, true),
        ` ${f} (not in the browser: ${why})`,
      ),
      " ",
    );
  }
  const tasks = el("fieldset", {}, el("legend", {}, "Tasks"));
  for (const t of BROWSER_TASKS) {
    tasks.append(el("label", {}, checkbox("task", t.meta.id, true), ` ${t.meta.id}`), " ");
  }
  const methods = el(
    "fieldset",
    {},
    el("legend", {}, "Methods (each task's dense baseline always runs)"),
  );
  for (const m of BROWSER_METHODS) {
    methods.append(el("label", {}, checkbox("method", m.meta.id, true), ` ${m.meta.id}`), " ");
  }
  const leftOut = el("ul", { class: "left-out" });
  for (const [id, why] of Object.entries({ ...LEFT_OUT_TASKS, ...LEFT_OUT_METHODS })) {
    leftOut.append(el("li", {}, el("code", {}, id), `: ${why}`));
  }
  const params = el(
    "fieldset",
    {},
    el(
      "legend",
      {},
      "Parameters (optional, as the CLI's --param: name=value[,value…], space-separated)",
    ),
    el("input", { type: "text", id: "params", name: "params", placeholder: "engine=webgpu" }),
  );
  root.append(
    profiles,
    families,
    tasks,
    methods,
    params,
    el("p", {}, "Left out of the browser build:"),
    leftOut,
  );
}

function chosen(form: HTMLElement, name: string): string[] {
  return [...form.querySelectorAll<HTMLInputElement>(`input[name="${name}"]:checked`)]
    .filter((i) => !i.disabled).map((i) => i.value);
}

function rowOf(key: string): HTMLTableRowElement | null {
  return document.querySelector<HTMLTableRowElement>(`#progress tr[data-key="${CSS.escape(key)}"]`);
}

// The leaderboard's figures, fetched once when a run starts; null where the site has none.
let leaderboard: Promise<DevicesDocument | null> = Promise.resolve(null);

function fetchLeaderboard(): Promise<DevicesDocument | null> {
  const url = byId("progress").dataset.devicesUrl;
  if (!url) return Promise.resolve(null);
  return fetch(url).then((r) => (r.ok ? r.json() : null)).catch(() => null);
}

function showCell(cell: Cell, run: RunFile): void {
  const row = rowOf(cell.key);
  if (!row) return;
  const f = formatCell(cell);
  row.dataset.status = cell.status;
  row.cells[3].textContent = f.status;
  row.cells[4].textContent = f.latency;
  row.cells[5].textContent = f.speedup;
  row.cells[6].textContent = f.note;
  row.cells[6].title = f.detail;
  const device = deviceOf(run);
  leaderboard.then((doc) => {
    row.cells[7].textContent = doc
      ? leaderboardFigure(doc, { id: device.id, deviceClass: deviceClassOf(device) }, cell)
      : "—";
  });
}

function offerDownload(run: RunFile): void {
  const link = byId<HTMLAnchorElement>("download");
  const blob = new Blob([JSON.stringify(run, null, 2) + "\n"], { type: "application/json" });
  link.href = URL.createObjectURL(blob);
  link.download = `${run.runId}.json`;
  link.hidden = false;
}

async function submit(run: RunFile, url: string, status: HTMLElement): Promise<void> {
  status.textContent = "sending…";
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(run),
    });
    const answer = await res.json().catch(() => ({})) as { error?: string; url?: string };
    status.dataset.status = String(res.status);
    status.textContent = res.ok
      ? `stored, unverified, as ${answer.url ?? run.runId}`
      : `refused (${res.status}): ${answer.error ?? res.statusText}`;
  } catch (error) {
    status.dataset.status = "network";
    status.textContent = `not sent: ${(error as Error).message}`;
  }
}

function offerSubmission(run: RunFile): void {
  const section = byId("submission");
  const url = section.dataset.submitUrl;
  byId("sent-preview").textContent = JSON.stringify(fingerprintOf(run), null, 2);
  section.hidden = false;
  const consent = byId<HTMLInputElement>("consent");
  const send = byId<HTMLButtonElement>("submit");
  const status = byId("submit-status");
  if (!url) {
    send.disabled = true;
    consent.disabled = true;
    status.textContent = "This copy of the site takes no submissions: download the file instead.";
    return;
  }
  consent.addEventListener("change", () => (send.disabled = !consent.checked));
  send.addEventListener("click", () => {
    // The button is enabled only by the box; checked again so nothing leaves without it.
    if (!consent.checked) return;
    send.disabled = true;
    submit(run, url, status);
  });
}

async function start(form: HTMLElement): Promise<void> {
  const error = byId("run-error");
  error.textContent = "";
  setState("running");
  byId<HTMLButtonElement>("start").disabled = true;
  const body = byId("progress").querySelector("tbody")!;
  body.replaceChildren();
  const profile = form.querySelector<HTMLInputElement>('input[name="profile"]:checked')?.value;
  const allMethods = chosen(form, "method").length === BROWSER_METHODS.length;
  const t0 = performance.now();
  leaderboard = fetchLeaderboard();
  try {
    const run = await runInBrowser(
      {
        profile: (profile ?? "smoke") as "smoke",
        families: chosen(form, "family"),
        tasks: chosen(form, "task"),
        methods: allMethods ? [] : chosen(form, "method"),
        params: form.querySelector<HTMLInputElement>("#params")?.value ?? "",
      },
      SPARSEBENCH_BUILD,
      {
        onPlanned(cells) {
          for (const c of cells) {
            body.append(
              el(
                "tr",
                { "data-key": c.key, "data-status": "queued" },
                el("td", {}, c.task),
                el("td", {}, c.method),
                el("td", {}, c.params),
                el("td", {}, "queued"),
                el("td"),
                el("td"),
                el("td"),
                el("td"),
              ),
            );
          }
        },
        onCellStart(key) {
          const row = rowOf(key);
          if (row) {
            row.dataset.status = "running";
            row.cells[3].textContent = "running";
          }
        },
        onCellDone: (cell, partial) => showCell(cell, partial),
      },
    );
    for (const cell of run.cells) showCell(cell, run);
    globalThis.sparsebenchRun = run;
    byId("run-summary").textContent = `${run.cells.length} cells in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s: ${
      ["ok", "failed", "timeout", "skipped"].map((s) =>
        `${run.cells.filter((c) => c.status === s).length} ${s}`
      ).join(", ")
    }.`;
    offerDownload(run);
    offerSubmission(run);
    setState("done");
  } catch (e) {
    error.textContent = e instanceof BrowserRunError
      ? e.message
      : `The run stopped: ${(e as Error).message ?? e}`;
    setState("error");
    byId<HTMLButtonElement>("start").disabled = false;
  }
}

// One device for every probe, so kernels compiled for one request serve the next.
const probeGpu = new BrowserGpuProvider();

async function probe(request: ProbeRequest): Promise<ProbeResult> {
  const context = await probeGpu.current();
  if (!context) throw new Error(probeGpu.unavailableReason ?? "no WebGPU adapter");
  return await probeKernel(context, BROWSER_METHODS, request);
}

function main(): void {
  // Every loader reads through the pinned assets beside this script (/static/assets/…).
  const base = new URL("./", import.meta.url);
  const source = assetSource(SPARSEBENCH_ASSETS, base);
  useFileSource(source);
  // onnxruntime-web's peers read its loader and binary as pinned assets too; worker threads
  // need cross-origin isolation (SharedArrayBuffer), so without it every session gets one.
  useOrtFiles(ortFilesFromAssets(source, SPARSEBENCH_ASSETS, base), {
    threads: globalThis.crossOriginIsolated === true,
  });
  globalThis.sparsebenchKernelProbe = probe;
  const form = byId("choices");
  drawChoices(form);
  byId<HTMLButtonElement>("start").addEventListener("click", () => start(form));
  byId<HTMLButtonElement>("start").disabled = false;
  setState("idle");
}

main();
