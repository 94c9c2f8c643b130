// The page frame every HTML page shares: head, navigation, footer, and the two scripts.
import { h, type Html } from "../html.ts";
import { href, type Links } from "./links.ts";

/** What a page gives the frame. */
export interface PageOptions {
  title: string;
  links: Links;
  body: Html;
  /** Loads chart.js before the page script. */
  charts?: boolean;
  /** ES module scripts of the page, as site paths (the runner page's bundle). */
  modules?: string[];
}

/** The whole HTML document of a page. */
export function layout(options: PageOptions): string {
  const { title, links, body, charts = false, modules = [] } = options;
  const link = (p: string) => href(links, p);
  return h`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · sparsebench</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${link("/static/app.css")}">
${charts ? h`<script src="${link("/static/chart.umd.min.js")}" defer></script>` : ""}
<script src="${link("/static/app.js")}" defer></script>
${modules.map((m) => h`<script type="module" src="${link(m)}"></script>`)}
</head>
<body>
<header class="top">
<a class="brand" href="${link("/")}">sparsebench</a>
<nav><a href="${link("/")}">Overview</a> <a href="${link("/runs")}">Runs</a> <a href="${
    link("/devices")
  }">Devices</a> <a href="${link("/run")}">Run in your browser</a> <a href="${
    link("/api/health")
  }">Health</a></nav>
</header>
<main>
${body}
</main>
<footer>Sparse methods measured against their dense baseline, in the same run, on the same device.
Results from different devices are never ranked together.</footer>
</body>
</html>
`.value;
}
