/**
 * The self-contained offline HTML report of a {@linkcode comparisonView} (the same sections the
 * Comparison notebook shows): integrity findings first, settings, findings in words, verdicts, the
 * statistics tables and the plotly figures, with plotly.js inlined (no network at view time).
 * @module
 */
import { UserError, writeFileAtomic } from "../util/mod.ts";
import { type ComparisonView, comparisonView, type ComparisonViewOptions } from "./comparison_view.ts";
import type { NamedFigure } from "./dashboard.ts";
import { escapeHtml, inlineScript, scriptJson, STYLE } from "./html.ts";
import type { Finding } from "./integrity.ts";
import type { PairedComparison } from "./paired.ts";
import { plotlyBundlePath } from "./plotly_html.ts";
import type { Section } from "./sections.ts";
import type { ColumnTable } from "./table.ts";

/** Options of {@linkcode writeReport}: what {@linkcode comparisonView} takes, and where and how to write. */
export interface ReportOptions extends Omit<ComparisonViewOptions, "figureSet"> {
  /** Output HTML file. */
  path: string;
  /** Page title (default "GRPO reward-structure report"). */
  title?: string;
  /** plotly.js file to inline (default: the installed minified `plotly.js-dist-min`). */
  plotlyPath?: string;
  /** The Testing notebook's side-by-side results as HTML (`deno task report` reads `testing_results.json`). */
  testingHtml?: string;
}

/** What {@linkcode writeReport} wrote. */
export interface ReportSummary {
  /** The HTML file. */
  path: string;
  /** Bytes written. */
  bytes: number;
  /** Integrity findings. */
  integrity: Finding[];
  /** Findings sentences. */
  sentences: string[];
  /** Number of figures drawn. */
  figures: number;
  /** The figures drawn (for `--figures DIR`). */
  figureSpecs: NamedFigure[];
  /** Paired held-out comparisons. */
  paired: PairedComparison[];
}

/** Builds the report HTML (without writing it); `plotlySource` is the plotly.js bundle text. */
export function renderReport(
  table: ColumnTable,
  opts: Omit<ReportOptions, "path" | "plotlyPath"> & { plotlySource: string },
): {
  html: string;
  summary: Omit<ReportSummary, "path" | "bytes">;
} {
  return renderComparison(comparisonView(table, opts), opts);
}

/** Options of {@linkcode renderComparison}. */
export interface RenderOptions {
  /** Page title (default "GRPO reward-structure report"). */
  title?: string;
  /** The plotly.js bundle text, inlined. */
  plotlySource: string;
  /** The Testing notebook's side-by-side results as HTML. */
  testingHtml?: string;
}

/** The report HTML of a {@linkcode comparisonView}: its sections under headings, its figures drawn by the inlined plotly.js. */
export function renderComparison(
  view: ComparisonView,
  opts: RenderOptions,
): { html: string; summary: Omit<ReportSummary, "path" | "bytes"> } {
  const title = opts.title ?? "GRPO reward-structure report";
  const { statistics, integrity, sentences, paired } = view.data;
  const dash = view.figures;
  const h2 = (s: Section) => `<h2>${escapeHtml(s.title)}</h2>\n${s.html}`;
  const parts: string[] = [];
  parts.push(`<h1>${escapeHtml(title)}</h1>`);
  parts.push(
    `<p class="meta">${statistics.runs.length} runs, ${statistics.experiments.length} experiment groups, ${view.table.numRows()} logged values. Generated ${
      escapeHtml(new Date().toISOString())
    }.</p>`,
  );
  parts.push(h2(view.integrity), h2(view.settings));
  if (view.options.loaded) parts.push(h2(view.loaded));
  parts.push(h2(view.findings), h2(view.verdicts), h2(view.statistics));
  parts.push(`<h3>${escapeHtml(view.paired.title)}</h3>\n${view.paired.html}`);
  parts.push(`<h2>Figures</h2>`);
  parts.push(
    dash.figures.map((x, i) => `<div class="figure" id="fig-${i}" data-figure="${escapeHtml(x.id)}"></div>`)
      .join("\n"),
  );
  if (dash.omitted.length) {
    parts.push(
      `<p>Not drawn:</p><ul>${
        dash.omitted.map((o) => `<li>${escapeHtml(o.title)}: ${escapeHtml(o.reason)}.</li>`).join("")
      }</ul>`,
    );
  }
  if (view.options.evalRuns?.length) parts.push(h2(view.completions));
  if (opts.testingHtml) parts.push(`<h2>Testing: every adapter side by side</h2>\n${opts.testingHtml}`);
  const specs = dash.figures.map((x) => x.spec);
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>
${parts.join("\n")}
</main>
<script>${inlineScript(opts.plotlySource)}</script>
<script type="application/json" id="figure-data">${scriptJson(specs)}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById("figure-data").textContent);
  specs.forEach(function (s, i) {
    Plotly.newPlot("fig-" + i, s.data, s.layout, { responsive: true, displaylogo: false });
  });
})();
</script>
</body></html>
`;
  return {
    html,
    summary: { integrity, sentences, figures: specs.length, figureSpecs: dash.figures, paired },
  };
}

/** Computes statistics, checks and figures for `table` and writes ONE offline HTML file atomically. */
export async function writeReport(table: ColumnTable, opts: ReportOptions): Promise<ReportSummary> {
  return await writeComparison(comparisonView(table, opts), opts);
}

/** Writes the report of a {@linkcode comparisonView} (e.g. the one a notebook showed) as ONE offline HTML file, atomically. */
export async function writeComparison(
  view: ComparisonView,
  opts: Omit<RenderOptions, "plotlySource"> & { path: string; plotlyPath?: string },
): Promise<ReportSummary> {
  const plotlyPath = opts.plotlyPath ?? plotlyBundlePath();
  let plotlySource: string;
  try {
    plotlySource = await Deno.readTextFile(plotlyPath);
  } catch (e) {
    throw new UserError(`${plotlyPath}: cannot read plotly.js (${(e as Error).message})`);
  }
  const { html, summary } = renderComparison(view, { ...opts, plotlySource });
  const bytes = new TextEncoder().encode(html);
  await writeFileAtomic(opts.path, bytes);
  return { path: opts.path, bytes: bytes.length, ...summary };
}
