/**
 * The self-contained offline HTML report: integrity findings first, then findings in words, the
 * statistics tables and the plotly figures, with plotly.js inlined (no network at view time).
 * @module
 */
import { UserError, writeFileAtomic } from "../util/mod.ts";
import { completionsViewer, evalViewerItems } from "./completions_view.ts";
import { dashboardFigures, type DashboardOptions, type NamedFigure } from "./dashboard.ts";
import { caveatKey, findingSentences, formatNumber } from "./findings.ts";
import { escapeHtml, htmlTable, inlineScript, scriptJson, STYLE } from "./html.ts";
import {
  checkIntegrity,
  type Finding,
  type IntegrityOptions,
  judgeFallbackCaveats,
  sortFindings,
} from "./integrity.ts";
import { pairedBetween, type PairedComparison, pairedVsBase, type RunEval } from "./paired.ts";
import { integrityHtml, pairedTable, settingsHtml } from "./report_sections.ts";
import { type RunSettings, settingsFindings } from "./settings.ts";
import type { LoadedRuns } from "./load.ts";
import { plotlyBundlePath } from "./plotly_html.ts";
import {
  type CI,
  compareExperimentStats,
  type Comparison,
  type ExperimentStats,
  experimentStats,
  type RunStats,
  runStats,
} from "./stats.ts";
import { type ColumnTable, experimentOrder, groupLabel, runLabel } from "./table.ts";

/** Options of {@linkcode writeReport}. */
export interface ReportOptions {
  /** Output HTML file. */
  path: string;
  /** Page title (default "GRPO reward-structure report"). */
  title?: string;
  /** What was loaded (listed at the top, with its warnings). */
  loaded?: Pick<LoadedRuns, "runs" | "warnings">;
  /** Start/end window in steps (default 10). */
  window?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Integrity thresholds. */
  integrity?: IntegrityOptions;
  /** Figure options (smoothing, band). */
  figures?: Pick<DashboardOptions, "smoothing" | "band">;
  /** plotly.js file to inline (default: the installed minified `plotly.js-dist-min`). */
  plotlyPath?: string;
  /** Per-example held-out logs (`loadEvalRecords`): paired comparisons and the completions viewer. */
  evalRuns?: readonly RunEval[];
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

const f = (x: number) => formatNumber(x);

function ciCell(ci: CI | undefined, scale = 1): string {
  if (!ci || !Number.isFinite(ci.estimate)) return "—";
  const s = (x: number) => f(x * scale);
  return ci.n > 1 ? `${s(ci.estimate)} [${s(ci.lo)}, ${s(ci.hi)}]` : `${s(ci.estimate)} (1 seed)`;
}

function runTable(stats: readonly RunStats[], mark: (s: RunStats) => string): string {
  return htmlTable(
    [
      "run",
      "steps",
      "window",
      "reward start",
      "reward end",
      "Δ reward",
      "slope/step",
      "stability",
      "held-out metric",
      "before",
      "after",
      "Δ held-out",
    ],
    stats.map((s) => [
      runLabel(s, { withSeed: true }) + mark(s),
      s.steps,
      s.window,
      { html: f(s.rewardStart), cls: "num" },
      { html: f(s.rewardEnd), cls: "num" },
      { html: f(s.rewardDelta), cls: "num" },
      { html: f(s.slope), cls: "num" },
      { html: f(s.stability), cls: "num" },
      s.heldOut?.metric ?? "—",
      { html: s.heldOut ? f(s.heldOut.before) : "—", cls: "num" },
      { html: s.heldOut ? f(s.heldOut.after) : "—", cls: "num" },
      { html: s.heldOut && Number.isFinite(s.heldOut.delta) ? f(s.heldOut.delta) : "—", cls: "num" },
    ]),
  );
}

function experimentTable(stats: readonly ExperimentStats[], mark: (s: ExperimentStats) => string): string {
  return htmlTable(
    [
      "experiment",
      "seeds",
      "reward start",
      "reward end",
      "Δ reward",
      "slope/step",
      "stability",
      "held-out metric",
      "held-out before",
      "held-out after",
      "Δ held-out",
    ],
    stats.map((s) => [
      groupLabel(s) + mark(s),
      s.seeds.length,
      { html: escapeHtml(ciCell(s.rewardStart)), cls: "num" },
      { html: escapeHtml(ciCell(s.rewardEnd)), cls: "num" },
      { html: escapeHtml(ciCell(s.rewardDelta)), cls: "num" },
      { html: escapeHtml(ciCell(s.slope)), cls: "num" },
      { html: escapeHtml(ciCell(s.stability)), cls: "num" },
      s.heldOutMetric ?? "—",
      { html: escapeHtml(ciCell(s.heldOutBefore)), cls: "num" },
      { html: escapeHtml(ciCell(s.heldOutAfter)), cls: "num" },
      { html: escapeHtml(ciCell(s.heldOutDelta)), cls: "num" },
    ]),
  );
}

function comparisonTable(
  comps: readonly Comparison[],
  mark: (source: Comparison["source"], e: string) => string,
): string {
  return htmlTable(
    ["a", "b", "measure", "mean(a) − mean(b)", "95% CI", "seeds a / b"],
    comps.map((c) => [
      groupLabel({ source: c.source, experiment: c.a }) + mark(c.source, c.a),
      groupLabel({ source: c.source, experiment: c.b }) + mark(c.source, c.b),
      c.metric ? `${c.measure} (${c.metric})` : c.measure,
      { html: f(c.diff.estimate), cls: "num" },
      Math.min(c.nA, c.nB) > 1
        ? `${f(c.diff.lo)} to ${f(c.diff.hi)}${
          c.diff.lo > 0 || c.diff.hi < 0 ? "" : " (not distinguishable)"
        }`
        : "— (needs ≥ 2 seeds each; not distinguishable)",
      `${c.nA} / ${c.nB}`,
    ]),
  );
}

/** Builds the report HTML (without writing it); `plotlySource` is the plotly.js bundle text. */
export function renderReport(
  table: ColumnTable,
  opts: Omit<ReportOptions, "path" | "plotlyPath"> & { plotlySource: string },
): {
  html: string;
  summary: Omit<ReportSummary, "path" | "bytes">;
} {
  const title = opts.title ?? "GRPO reward-structure report";
  const boot = { seed: opts.seed ?? 0, resamples: opts.resamples };
  const rs = runStats(table, { window: opts.window });
  const es = experimentStats(rs, boot);
  // Only held-out improvements are compared: training rewards of different reward functions have different scales.
  const comps = compareExperimentStats(rs, { ...boot, measure: "heldOutDelta" });
  const settings: RunSettings[] = (opts.loaded?.runs ?? []).filter((r) => r.config).map((r) => ({
    source: r.source,
    experiment: r.experiment,
    seed: r.seed,
    config: r.config!,
  }));
  const integrity = sortFindings([
    ...checkIntegrity(table, { window: opts.window, ...opts.integrity }),
    ...settingsFindings(settings),
  ]);
  const caveats = judgeFallbackCaveats(table);
  const vsBase = pairedVsBase(opts.evalRuns ?? [], boot);
  const paired = [...vsBase, ...pairedBetween(opts.evalRuns ?? [], boot)];
  const sentences = findingSentences(es, comps, { paired, caveats });
  const dash = dashboardFigures(table, { ...opts.figures, stats: es, paired: vsBase, caveats });
  const nRuns = rs.length;
  const markOf = (source: Comparison["source"], e: string) =>
    caveats.has(caveatKey(source, e)) ? ` ⚠ ${caveats.get(caveatKey(source, e))}` : "";
  const mark = (s: { source: Comparison["source"]; experiment: string }) => markOf(s.source, s.experiment);

  const parts: string[] = [];
  parts.push(`<h1>${escapeHtml(title)}</h1>`);
  parts.push(
    `<p class="meta">${nRuns} runs, ${es.length} experiment groups, ${table.numRows()} logged values. Generated ${
      escapeHtml(new Date().toISOString())
    }.</p>`,
  );
  parts.push(`<h2>Integrity checks</h2>`);
  parts.push(integrityHtml(integrity, { runs: nRuns }));
  if (caveats.size) {
    parts.push(
      `<ul class="warn">${
        [...caveats].map(([k, v]) => `<li><b>${escapeHtml(k)}</b>: ⚠ ${escapeHtml(v)}</li>`).join("")
      }</ul>`,
    );
  }
  parts.push(`<h2>Settings of the compared runs</h2>`);
  parts.push(settingsHtml(settings));
  if (opts.loaded) {
    parts.push(`<h2>Data loaded</h2>`);
    parts.push(htmlTable(
      ["run", "file", "steps", "metrics", "torn lines", "non-numeric values skipped"],
      [...opts.loaded.runs].sort((a, b) =>
        experimentOrder(a.experiment, b.experiment) ||
        (a.source === b.source ? 0 : a.source === "ours" ? -1 : 1) ||
        a.seed - b.seed
      ).map((r) => [
        runLabel(r, { withSeed: r.source === "ours" }),
        r.path,
        r.steps,
        r.metrics,
        r.tornLines,
        Object.values(r.skipped).reduce((a, b) => a + b, 0),
      ]),
    ));
    if (opts.loaded.warnings.length) {
      parts.push(
        `<ul class="warn">${opts.loaded.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>`,
      );
    }
  }
  parts.push(`<h2>Findings</h2>`);
  parts.push(
    sentences.length
      ? `<ul class="sentences">${sentences.map((s) => `<li>${escapeHtml(s)}</li>`).join("\n")}</ul>`
      : `<p>No statistics could be computed (no run logged a reward).</p>`,
  );
  parts.push(
    `<h2>Statistics</h2><h3>Per experiment (mean over seeds [95% bootstrap CI])</h3>${
      experimentTable(es, mark)
    }`,
  );
  parts.push(`<h3>Comparisons between experiments</h3>`);
  parts.push(
    comps.length
      ? comparisonTable(comps, markOf)
      : `<p>No comparable pairs (a comparison needs two experiments of the same source with the same held-out metric evaluated at least twice).</p>`,
  );
  parts.push(`<h3>Per run (start/end = mean over the first/last window of steps)</h3>${runTable(rs, mark)}`);
  parts.push(`<h3>Paired held-out comparisons (per problem; one seed already gets an interval)</h3>`);
  parts.push(pairedTable(paired));
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
  if (opts.evalRuns?.length) {
    parts.push(`<h2>Held-out completions</h2>`);
    parts.push(completionsViewer(evalViewerItems(opts.evalRuns)));
  }
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
  const plotlyPath = opts.plotlyPath ?? plotlyBundlePath();
  let plotlySource: string;
  try {
    plotlySource = await Deno.readTextFile(plotlyPath);
  } catch (e) {
    throw new UserError(`${plotlyPath}: cannot read plotly.js (${(e as Error).message})`);
  }
  const { html, summary } = renderReport(table, { ...opts, plotlySource });
  const bytes = new TextEncoder().encode(html);
  await writeFileAtomic(opts.path, bytes);
  return { path: opts.path, bytes: bytes.length, ...summary };
}
