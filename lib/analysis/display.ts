/**
 * Showing the study's views in Deno's Jupyter kernel (through lib/util/jupyter.ts): {@linkcode show} takes a
 * section, a set of figures or one figure; outside a notebook the plain text (or a one-line note per
 * figure) is printed.
 * @module
 */
import { type Dashboard, dashboardFigures, type DashboardOptions } from "./dashboard.ts";
import type { Section } from "./sections.ts";
import type { PlotSpec } from "./figures.ts";
import { notebookFigureHtml } from "./plotly_html.ts";
import type { ColumnTable } from "./table.ts";
import { display, type JupyterApi, jupyterApi } from "../util/mod.ts";

/** MIME type Jupyter front-ends render with plotly. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

function titleOf(spec: PlotSpec): string {
  return (spec.layout.title as { text?: string } | undefined)?.text?.split("<br>")[0] ?? "untitled";
}

/**
 * The mime bundle of a figure: the plotly JSON (JupyterLab with the plotly extension), a self-drawing
 * `text/html` rendering beside it (nbconvert, nbviewer, GitHub-style viewers, JupyterLab without the
 * extension; plotly.js inlined with the first figure of the process), and a `text/plain` line.
 */
export function figureBundle(spec: PlotSpec, opts: { plain?: string } = {}): Record<string, unknown> {
  return {
    [PLOTLY_MIME]: spec,
    "text/html": notebookFigureHtml(spec),
    "text/plain": opts.plain ?? `figure "${titleOf(spec)}": ${spec.data.length} traces`,
  };
}

/** Options of {@linkcode showFigure}. */
export interface ShowOptions {
  /** Where the note goes outside a notebook (default console.log). */
  log?: (line: string) => void;
  /** Jupyter API to use instead of `Deno.jupyter` (null: act as outside a notebook). */
  jupyter?: JupyterApi | null;
}

/**
 * Shows a figure: in the Jupyter kernel as a plotly output; elsewhere prints one line
 * (`figure "<title>": N traces (plotly output needs the Deno Jupyter kernel)`). Returns whether it displayed.
 */
export async function showFigure(spec: PlotSpec, opts: ShowOptions = {}): Promise<boolean> {
  const j = opts.jupyter === undefined ? jupyterApi() : opts.jupyter;
  if (j) {
    await display(figureBundle(spec), { jupyter: j });
    return true;
  }
  const title = titleOf(spec);
  (opts.log ?? console.log)(
    `figure "${title}": ${spec.data.length} traces (plotly output needs the Deno Jupyter kernel)`,
  );
  return false;
}

/** Shows every standard figure of `table` ({@linkcode dashboardFigures}) and one line per figure left out. */
export async function showDashboard(
  table: ColumnTable,
  opts: DashboardOptions & ShowOptions = {},
): Promise<Dashboard> {
  const dash = dashboardFigures(table, opts);
  for (const f of dash.figures) await showFigure(f.spec, opts);
  for (const o of dash.omitted) (opts.log ?? console.log)(`not drawn: ${o.title} (${o.reason})`);
  return dash;
}

/**
 * Shows one block of a view: a {@linkcode Section} (its HTML, or its plain text outside Jupyter), a set
 * of figures (each figure, then one line per figure left out with the reason), or one figure.
 */
export async function show(block: Section | Dashboard | PlotSpec, opts: ShowOptions = {}): Promise<void> {
  if ("figures" in block) {
    for (const f of block.figures) await showFigure(f.spec, opts);
    for (const o of block.omitted) (opts.log ?? console.log)(`not drawn: ${o.title} (${o.reason})`);
  } else if ("layout" in block) {
    await showFigure(block, opts);
  } else if (opts.jupyter === undefined ? jupyterApi() : opts.jupyter) {
    await display(block, { jupyter: opts.jupyter });
  } else {
    (opts.log ?? console.log)(block.plain);
  }
}
