/**
 * The standard sets of figures: the study's dashboard (the HTML report and the Comparison notebook) and
 * a training notebook's run figures. Figures whose metric no run logged are left out with the reason,
 * never drawn empty.
 * @module
 */
import { finalRewardBars, heldOutBars } from "./bars.ts";
import { curveFigure, type PlotSpec, rewardCurves } from "./figures.ts";
import { rewardFunctionFigure, rewardFunctionGrid } from "./reward_figures.ts";
import { judgeFallbackCaveats } from "./integrity.ts";
import type { PairedComparison } from "./paired.ts";
import { type ExperimentStats, experimentStats, runStats } from "./stats.ts";
import { type ColumnTable, heldOutMetrics, heldOutUnit, rewardSeries, runsOf } from "./table.ts";
import { timingSplitFigure } from "./timing.ts";
import { EVAL_METRICS } from "../util/mod.ts";

/** A figure with an id and a title. */
export interface NamedFigure {
  /** Stable id, e.g. "reward" or "kl". */
  id: string;
  /** Short title. */
  title: string;
  /** The plotly spec. */
  spec: PlotSpec;
}

/** Result of {@linkcode dashboardFigures}. */
export interface Dashboard {
  /** Figures that have data. */
  figures: NamedFigure[];
  /** Figures left out, each with the reason. */
  omitted: { id: string; title: string; reason: string }[];
}

/** Options of {@linkcode dashboardFigures}. */
export interface DashboardOptions {
  /** EMA weight for training curves (default 0.8). */
  smoothing?: number;
  /** Seed band style (default "minmax"). */
  band?: "minmax" | "std";
  /** Precomputed experiment statistics (default: computed with `window` and `seed`). */
  stats?: ExperimentStats[];
  /** Start/end window in steps (default 10). */
  window?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Paired held-out comparisons against the base model (their intervals go on the improvement bars). */
  paired?: readonly PairedComparison[];
  /** Caveat per group (`source/experiment` → text, e.g. the judge fallback): named in every figure showing it. */
  caveats?: ReadonlyMap<string, string>;
}

const CURVES: { id: string; metric: string; title: string; y: string }[] = [
  { id: "kl", metric: "kl", title: "KL divergence to the reference policy", y: "KL" },
  { id: "entropy", metric: "entropy", title: "Policy entropy", y: "entropy" },
  { id: "length", metric: "completions/mean_length", title: "Mean completion length", y: "tokens" },
  {
    id: "judge_fallback",
    metric: "judge/fallback_frac",
    title: "Judge fallback share",
    y: "share of judge calls",
  },
];

/** All standard figures for the table: reward, per-function grid, KL, entropy, length, held-out, judge fallback, bars. */
export function dashboardFigures(table: ColumnTable, opts: DashboardOptions = {}): Dashboard {
  const runs = runsOf(table);
  const has = (m: string) => runs.some((r) => (r.metrics.get(m)?.values.length ?? 0) > 0);
  const figures: NamedFigure[] = [];
  const omitted: Dashboard["omitted"] = [];
  const add = (id: string, title: string, spec: PlotSpec | null, reason: string) =>
    spec && spec.data.length ? figures.push({ id, title, spec }) : omitted.push({ id, title, reason });
  const curve = { smoothing: opts.smoothing, band: opts.band };

  add("reward", "Training reward", rewardCurves(table, curve), "no run logged a reward");
  add(
    "reward_functions",
    "Reward per reward function",
    runs.some((r) => rewardSeries(r)) ? rewardFunctionGrid(table, curve) : null,
    "no run logged a reward",
  );
  for (const c of CURVES) {
    const ok = has(c.metric);
    add(
      c.id,
      c.title,
      ok ? curveFigure(table, c.metric, { ...curve, title: c.title, yTitle: c.y }) : null,
      `no run logged ${c.metric}`,
    );
  }
  const heldOut = [...new Set(runs.flatMap((r) => heldOutMetrics(r.metrics.keys())))];
  if (!heldOut.length) {
    omitted.push({
      id: "held_out",
      title: "Held-out metric",
      reason: `no run logged ${EVAL_METRICS.accuracy} or ${EVAL_METRICS.judgeScore}`,
    });
  }
  for (const m of heldOut) {
    const maxAbs = Math.max(...runs.flatMap((r) => r.metrics.get(m)?.values ?? []).map(Math.abs));
    const u = heldOutUnit(m, maxAbs);
    const title = `Held-out ${u.name}`;
    add(
      `held_out_${u.name.replace(/\W+/g, "_")}`,
      title,
      curveFigure(table, m, {
        band: opts.band,
        smoothing: 0,
        scale: u.scale,
        title,
        yTitle: `${u.name}${u.unit}`,
        yaxis: boundedAxis(m, u.scale),
      }),
      "",
    );
  }
  add("timing", "Time per step by phase", timingSplitFigure(table), "no run logged timing/* metrics");
  const stats = opts.stats ?? experimentStats(runStats(table, { window: opts.window }), { seed: opts.seed });
  add(
    "final_reward",
    "Final training reward",
    stats.length ? finalRewardBars(stats) : null,
    "no run logged a reward",
  );
  const withDelta = [...new Set(stats.filter((s) => s.heldOutDelta).map((s) => s.heldOutMetric!))];
  if (!withDelta.length) {
    omitted.push({
      id: "held_out_improvement",
      title: "Held-out improvement",
      reason: "no run evaluated a held-out metric at least twice",
    });
  }
  for (const m of withDelta) {
    add(
      `held_out_improvement_${m.replace(/\W+/g, "_")}`,
      `Held-out improvement (${m})`,
      heldOutBars(stats, { metric: m, paired: opts.paired }),
      "",
    );
  }
  if (opts.caveats?.size) { for (const f of figures) markCaveats(f.spec, opts.caveats); }
  return { figures, omitted };
}

/** Held-out metrics on a known scale get an axis from zero: accuracy 0–100 points, judge score 0–10. */
function boundedAxis(metric: string, scale: number): Record<string, unknown> | undefined {
  if (/accuracy|format_rate|mean_at_k/.test(metric)) return { rangemode: "tozero" };
  if (/judge_score$/.test(metric) && scale === 1) return { range: [0, 10.2] };
  return undefined;
}

/**
 * Names a caveat wherever a figure shows that group: its trace names and bar labels get
 * ` ⚠ judge fallback`-style suffixes, and a note under the title lists each caveat in full.
 */
export function markCaveats(spec: PlotSpec, caveats: ReadonlyMap<string, string>): void {
  const notes: string[] = [];
  for (const [key, text] of caveats) {
    const [source, experiment] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
    const label = `${experiment}${source === "trl" ? " (TRL log)" : ""}`;
    const tag = ` ⚠ ${text.split(":")[0]}`;
    let hit = false;
    const match = (v: unknown) => typeof v === "string" && (v === label || v.startsWith(`${label} (`));
    for (const t of spec.data) {
      if (match(t.name)) (t.name = `${t.name}${tag}`), (hit = true);
      if (Array.isArray(t.x) && t.type === "bar") {
        t.x = t.x.map((x) => (match(x) ? ((hit = true), `${x}${tag}`) : x));
      }
    }
    const ann = spec.layout.annotations as { text?: string }[] | undefined;
    for (const a of ann ?? []) {
      if (a.text === `<b>${experiment}</b>`) (a.text = `<b>${experiment}</b>${tag}`), (hit = true);
    }
    if (hit) notes.push(`${label}: ${text}`);
  }
  if (notes.length) noteUnderTitle(spec, notes);
}

/** Adds `⚠ note` lines under a figure's title (and room for them). */
function noteUnderTitle(spec: PlotSpec, notes: readonly string[]): void {
  const title = spec.layout.title as { text?: string } | undefined;
  spec.layout.title = {
    ...(title ?? {}),
    text: `${title?.text ?? ""}<br><sub>⚠ ${notes.join("<br>⚠ ")}</sub>`,
  };
  spec.layout.margin = { ...(spec.layout.margin as object ?? {}), t: 60 + 18 * notes.length };
}

/** Ids of the figures a training notebook shows, in order (`held_out` stands for every `held_out_*`). */
const RUN_FIGURES = ["reward", "reward_functions", "held_out", "length", "kl", "judge_fallback"];

/**
 * The figures a training notebook shows for its run(s): training reward, reward per reward function (one
 * {@linkcode rewardFunctionFigure} per experiment), held-out metric, completion length, KL, and the judge
 * fallback share when logged. A caveat per group (default: the judge fallback) is named in each figure.
 */
export function runFigures(
  table: ColumnTable,
  options: { smoothing?: number; caveats?: ReadonlyMap<string, string> } = {},
): Dashboard {
  const caveats = options.caveats ?? judgeFallbackCaveats(table);
  const dash = dashboardFigures(table, { smoothing: options.smoothing, caveats });
  const figures: NamedFigure[] = [];
  const omitted: Dashboard["omitted"] = [];
  const base = (id: string) =>
    id.startsWith("held_out_improvement") ? "" : id.startsWith("held_out") ? "held_out" : id;
  for (const id of RUN_FIGURES) {
    if (id !== "reward_functions") {
      figures.push(...dash.figures.filter((f) => base(f.id) === id));
      if (id !== "judge_fallback") omitted.push(...dash.omitted.filter((o) => base(o.id) === id));
      continue;
    }
    for (const experiment of [...new Set(runsOf(table).map((r) => r.experiment))]) {
      const spec = rewardFunctionFigure(table, { experiment, smoothing: options.smoothing });
      const notes = [...caveats].filter(([k]) => k.endsWith(`/${experiment}`)).map(([, v]) => v);
      if (notes.length) noteUnderTitle(spec, notes);
      if (spec.data.length) {
        figures.push({
          id: `reward_functions_${experiment}`,
          title: `Reward per function: ${experiment}`,
          spec,
        });
      }
    }
  }
  return { figures, omitted };
}
