/**
 * The statistics tables, built once for the report, the Comparison notebook and the training notebooks:
 * per experiment (mean over seeds with the 95% t interval, stability included), per run, and the
 * comparisons between experiments, each with a plain-text twin. A caveat per group (e.g. the judge
 * fallback) is named in the group's cell.
 * @module
 */
import { caveatKey, formatNumber } from "./findings.ts";
import { escapeHtml, htmlTable } from "./html.ts";
import type { CI, Comparison, ExperimentStats, RunStats } from "./stats.ts";
import { groupLabel, runLabel, type Source } from "./table.ts";

/** Options of the statistics tables. */
export interface StatsTableOptions {
  /** A caveat per group, keyed `source/experiment` (e.g. the judge fallback), named in the group's cell. */
  caveats?: ReadonlyMap<string, string>;
}

const f = (x: number) => formatNumber(x);

/** `mean [lo, hi]` over seeds, `mean (1 seed)`, or `—` when there is no finite estimate. */
export function ciText(ci: CI | undefined): string {
  if (!ci || !Number.isFinite(ci.estimate)) return "—";
  return ci.n > 1 ? `${f(ci.estimate)} [${f(ci.lo)}, ${f(ci.hi)}]` : `${f(ci.estimate)} (1 seed)`;
}

function ciCell(ci: CI | undefined): { html: string; cls: string } {
  return { html: escapeHtml(ciText(ci)), cls: "num" };
}

function numCell(x: number | undefined): { html: string; cls: string } {
  return { html: x !== undefined && Number.isFinite(x) ? f(x) : "—", cls: "num" };
}

function mark(source: Source, experiment: string, caveats?: ReadonlyMap<string, string>): string {
  const c = caveats?.get(caveatKey(source, experiment));
  return c ? ` ⚠ ${c}` : "";
}

const NO_STATS = "No statistics (no run logged a reward).";

/** Per experiment: seeds, reward start/end/change/slope/stability and the held-out metric before/after, as CIs. */
export function experimentStatsTable(
  stats: readonly ExperimentStats[],
  options: StatsTableOptions = {},
): string {
  if (!stats.length) return `<p>${NO_STATS}</p>`;
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
      groupLabel(s) + mark(s.source, s.experiment, options.caveats),
      s.seeds.length,
      ciCell(s.rewardStart),
      ciCell(s.rewardEnd),
      ciCell(s.rewardDelta),
      ciCell(s.slope),
      ciCell(s.stability),
      s.heldOutMetric ?? "—",
      ciCell(s.heldOutBefore),
      ciCell(s.heldOutAfter),
      ciCell(s.heldOutDelta),
    ]),
  );
}

/** One plain line per experiment: reward start → end, slope, stability, held-out before → after (caveats named). */
export function experimentStatsLines(
  stats: readonly ExperimentStats[],
  options: StatsTableOptions = {},
): string[] {
  if (!stats.length) return [NO_STATS];
  const t = (ci: CI | undefined) => (ci && Number.isFinite(ci.estimate) ? f(ci.estimate) : "—");
  return stats.map((s) =>
    `${groupLabel(s)}${mark(s.source, s.experiment, options.caveats)} (${s.seeds.length} seed${
      s.seeds.length > 1 ? "s" : ""
    }): reward ${t(s.rewardStart)} → ${t(s.rewardEnd)}, slope ${t(s.slope)}/step, stability ${
      t(s.stability)
    }${s.heldOutMetric ? `; ${s.heldOutMetric} ${t(s.heldOutBefore)} → ${t(s.heldOutAfter)}` : ""}`
  );
}

/** Per run: steps, window, reward start/end/change/slope/stability and the held-out metric before/after. */
export function runStatsTable(stats: readonly RunStats[], options: StatsTableOptions = {}): string {
  if (!stats.length) return `<p>${NO_STATS}</p>`;
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
      runLabel(s, { withSeed: true }) + mark(s.source, s.experiment, options.caveats),
      s.steps,
      s.window,
      numCell(s.rewardStart),
      numCell(s.rewardEnd),
      numCell(s.rewardDelta),
      numCell(s.slope),
      numCell(s.stability),
      s.heldOut?.metric ?? "—",
      numCell(s.heldOut?.before),
      numCell(s.heldOut?.after),
      numCell(s.heldOut?.delta),
    ]),
  );
}

/** Differences between experiments (same source and held-out metric) with their 95% CI, or a line saying there are none. */
export function comparisonStatsTable(
  comps: readonly Comparison[],
  options: StatsTableOptions = {},
): string {
  if (!comps.length) {
    return "<p>No comparable pairs (a comparison needs two experiments of the same source with the same held-out metric evaluated at least twice).</p>";
  }
  return htmlTable(
    ["a", "b", "measure", "mean(a) − mean(b)", "95% CI", "seeds a / b"],
    comps.map((c) => [
      groupLabel({ source: c.source, experiment: c.a }) + mark(c.source, c.a, options.caveats),
      groupLabel({ source: c.source, experiment: c.b }) + mark(c.source, c.b, options.caveats),
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
