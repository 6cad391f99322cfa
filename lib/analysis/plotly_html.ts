/**
 * Plotly figures as HTML that draws itself anywhere (nbconvert's HTML, nbviewer-style static pages, the
 * report): a `<div>` plus a script calling `Plotly.newPlot`, and plotly.js itself (the minified
 * `plotly.js-dist-min` build) inlined once, as Python plotly's notebook renderer does. Figures shown
 * before the library arrives wait for it.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { UserError } from "../util/errors.ts";
import type { PlotSpec } from "./figures.ts";
import { escapeHtml, inlineScript, scriptJson } from "./html.ts";

const PACKAGE = "plotly.js-dist-min";

/** Path of the installed minified plotly.js bundle (`plotly.js-dist-min`); a UserError when it is not installed. */
export function plotlyBundlePath(): string {
  try {
    const url = import.meta.resolve(PACKAGE);
    if (url.startsWith("file:") && existsSync(fromFileUrl(url))) return fromFileUrl(url);
  } catch { /* fall through to the node_modules search */ }
  const store = join(dirname(fromFileUrl(import.meta.url)), "../../node_modules/.deno");
  const dir = existsSync(store)
    ? readdirSync(store).filter((d) => d.startsWith(`${PACKAGE}@`)).sort().pop()
    : undefined;
  const path = dir && join(store, dir, "node_modules", PACKAGE, "plotly.min.js");
  if (path && existsSync(path)) return path;
  throw new UserError(`${PACKAGE}: not installed (run \`deno install\` in the repository)`);
}

let cached: string | undefined;

/** The plotly.js bundle's text (read once per process). */
export function plotlySource(): string {
  if (cached === undefined) {
    const path = plotlyBundlePath();
    try {
      cached = readFileSync(path, "utf8");
    } catch (e) {
      throw new UserError(`${path}: cannot read plotly.js (${(e as Error).message})`);
    }
  }
  return cached;
}

/** Options of {@linkcode figureHtml}. */
export interface FigureHtmlOptions {
  /** Inline plotly.js before the figure (default false: the page or an earlier output provides it). */
  includeLibrary?: boolean;
  /** The plotly.js text to inline (default: the installed bundle). */
  library?: string;
  /** Element id (default: a fresh one). */
  id?: string;
}

let counter = 0;

/** A self-drawing HTML rendering of a plotly figure (waits up to 60 s for plotly.js when it is not loaded yet). */
export function figureHtml(spec: PlotSpec, opts: FigureHtmlOptions = {}): string {
  const id = opts.id ?? `grpo-fig-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const lib = opts.includeLibrary ? `<script>${inlineScript(opts.library ?? plotlySource())}</script>\n` : "";
  const height = Number(spec.layout.height) || 420;
  return `<div id="${escapeHtml(id)}" class="plotly-figure" style="min-height:${height}px"></div>
${lib}<script type="application/json" id="${escapeHtml(id)}-data">${scriptJson(spec)}</script>
<script>(function () {
  var tries = 0;
  function draw() {
    if (!window.Plotly) { if (tries++ < 1200) setTimeout(draw, 50); return; }
    var s = JSON.parse(document.getElementById(${JSON.stringify(`${id}-data`)}).textContent);
    window.Plotly.newPlot(${JSON.stringify(id)}, s.data, s.layout, { responsive: true, displaylogo: false });
  }
  draw();
})();</script>`;
}

let libraryEmitted = false;

/**
 * {@linkcode figureHtml} for notebook outputs: plotly.js is inlined in the first figure of the process
 * (so an executed notebook carries it once), later figures reuse it.
 */
export function notebookFigureHtml(spec: PlotSpec): string {
  const include = !libraryEmitted;
  libraryEmitted = true;
  return figureHtml(spec, { includeLibrary: include });
}
