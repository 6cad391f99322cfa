/**
 * Plotly figure specs (`{data, layout}`, plain JSON) built from the tidy run table: smoothed curves
 * with a seed band; runs of different lengths on a fraction-of-training axis. The reward-per-function
 * figures are in `reward_figures.ts`, bar charts in `bars.ts`. Pure functions: table in, spec out.
 * @module
 */
import {
  type ColumnTable,
  groupLabel,
  rewardFunctions,
  rewardSeries,
  type Run,
  runsOf,
  type Series,
  type Source,
} from "./table.ts";
import { axisTitle, runLengths, trainingAxis } from "./axes.ts";

export { axisTitle, trainingAxis } from "./axes.ts";

/** A plotly figure: traces and layout, as plain JSON. */
export interface PlotSpec {
  /** Traces. */
  data: Record<string, unknown>[];
  /** Layout. */
  layout: Record<string, unknown>;
}

/** Options of the curve figures. */
export interface CurveOptions {
  /** Figure title. */
  title?: string;
  /** Y-axis title (default: the metric). */
  yTitle?: string;
  /** EMA weight of the previous value, 0 (none) to <1 (default 0.8; 0 for held-out metrics). */
  smoothing?: number;
  /** Seed band: min–max (default) or mean ± std. */
  band?: "minmax" | "std";
  /** Multiply values by this (default 1). */
  scale?: number;
  /**
   * X axis: optimizer step, or the fraction of each run's training (step / its last logged step). Default
   * "auto": the fraction when runs of different lengths share the figure (one 15 steps, another 100).
   */
  x?: "step" | "fraction" | "auto";
}

const PALETTE: Record<string, string> = {
  math_hard: "#1f77b4",
  dialogue_hard: "#ff7f0e",
  math_soft: "#2ca02c",
  dialogue_soft: "#d62728",
  math_perplexity: "#9467bd",
  dialogue_perplexity: "#8c564b",
};
const EXTRA = ["#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"];

/** Color of an experiment (fixed for the six known ones). */
export function experimentColor(experiment: string, index = 0): string {
  return PALETTE[experiment] ?? EXTRA[index % EXTRA.length];
}

function rgba(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/** Exponential moving average: `s = w·s + (1 − w)·x`, starting at the first value. */
export function ema(values: readonly number[], weight: number): number[] {
  const out: number[] = [];
  let s = values[0];
  for (const x of values) out.push(s = weight * s + (1 - weight) * x);
  return out;
}

/** Series of `metric` in one run; "reward" falls back to the sum of reward functions. */
export function metricSeries(run: Run, metric: string): Series | undefined {
  return metric === "reward" ? rewardSeries(run) : run.metrics.get(metric);
}

/** Cross-seed aggregate of one metric of one (source, experiment). */
export interface GroupCurve {
  /** "ours" or "trl". */
  source: Source;
  /** Experiment id. */
  experiment: string;
  /** Seeds. */
  seeds: number;
  /** Union of steps. */
  steps: number[];
  /** Mean across seeds of the raw values. */
  raw: number[];
  /** Mean across seeds of the smoothed values. */
  mean: number[];
  /** Band low / high (min–max or mean ± std of the smoothed values). */
  lo: number[];
  /** Band high. */
  hi: number[];
}

/** Aggregates `metric` across seeds per (source, experiment), smoothing each seed before the band. */
export function groupCurves(
  table: ColumnTable,
  metric: string,
  opts: Pick<CurveOptions, "smoothing" | "band" | "scale"> & { x?: "step" | "fraction" } = {},
): GroupCurve[] {
  const groups = new Map<string, { source: Source; experiment: string; series: Series[] }>();
  const lengths = opts.x === "fraction" ? runLengths(table) : undefined;
  for (const run of runsOf(table)) {
    let s = metricSeries(run, metric);
    if (!s?.values.length) continue;
    const len = lengths?.get(`${run.source}/${run.experiment}/${run.seed}`);
    if (len) s = { steps: s.steps.map((x) => x / len), values: s.values };
    const k = `${run.source}\u0000${run.experiment}`;
    if (!groups.has(k)) groups.set(k, { source: run.source, experiment: run.experiment, series: [] });
    groups.get(k)!.series.push(s);
  }
  const w = opts.smoothing ?? 0.8, scale = opts.scale ?? 1;
  return [...groups.values()].map((g) => {
    const raw = new Map<number, number[]>(), smooth = new Map<number, number[]>();
    for (const s of g.series) {
      const sm = ema(s.values, w);
      s.steps.forEach((st, i) => {
        if (!raw.has(st)) raw.set(st, []), smooth.set(st, []);
        raw.get(st)!.push(s.values[i] * scale);
        smooth.get(st)!.push(sm[i] * scale);
      });
    }
    const steps = [...raw.keys()].sort((a, b) => a - b);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = (xs: number[]) =>
      Math.sqrt(xs.reduce((a, x) => a + (x - avg(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
    const mean = steps.map((s) => avg(smooth.get(s)!));
    const band = (s: number, i: number, sign: 1 | -1) => {
      const xs = smooth.get(s)!;
      if (opts.band === "std") return mean[i] + sign * sd(xs);
      return sign > 0 ? Math.max(...xs) : Math.min(...xs);
    };
    return {
      source: g.source,
      experiment: g.experiment,
      seeds: g.series.length,
      steps,
      raw: steps.map((s) => avg(raw.get(s)!)),
      mean,
      lo: steps.map((s, i) => band(s, i, -1)),
      hi: steps.map((s, i) => band(s, i, 1)),
    };
  });
}

/** The common layout of the figures (x axis: steps, unless `x` says fraction of training). */
export function baseLayout(
  title: string,
  options: { yTitle?: string; x?: "step" | "fraction" } = {},
): Record<string, unknown> {
  const { yTitle = "", x = "step" } = options;
  return {
    title: { text: title },
    xaxis: { title: { text: axisTitle(x) } },
    yaxis: { title: { text: yTitle } },
    legend: { orientation: "h", y: -0.2 },
    margin: { l: 60, r: 20, t: 50, b: 60 },
    height: 420,
    hovermode: "x unified",
  };
}

/** Options of {@linkcode curveTraces}. */
export interface CurveTraceOptions {
  /** Line (and band) color. */
  color: string;
  /** Subplot axes of every trace, e.g. `{ xaxis: "x2", yaxis: "y2" }` (default: the first). */
  axes?: Record<string, string>;
  /** Dash the TRL logs' lines (when they share the figure with ours). */
  dashTrl?: boolean;
}

/**
 * The traces of one group curve: its seed band (several seeds) or a faint raw line (one smoothed seed),
 * then the mean line, all in one legend group.
 */
export function curveTraces(c: GroupCurve, options: CurveTraceOptions): Record<string, unknown>[] {
  const { color, axes = {}, dashTrl = false } = options;
  const name = `${groupLabel(c)}${c.seeds > 1 ? ` (${c.seeds} seeds)` : ""}`;
  const dash = dashTrl && c.source === "trl" ? "dash" : "solid";
  const out: Record<string, unknown>[] = [];
  const single = c.steps.length === 1;
  if (c.seeds > 1) {
    out.push(
      {
        type: "scatter",
        mode: "lines",
        x: c.steps,
        y: c.hi,
        line: { width: 0 },
        hoverinfo: "skip",
        showlegend: false,
        legendgroup: name,
        ...axes,
      },
      {
        type: "scatter",
        mode: "lines",
        x: c.steps,
        y: c.lo,
        fill: "tonexty",
        fillcolor: rgba(color, 0.18),
        line: { width: 0 },
        hoverinfo: "skip",
        showlegend: false,
        legendgroup: name,
        ...axes,
      },
    );
  } else if (c.raw.some((v, i) => v !== c.mean[i])) {
    out.push({
      type: "scatter",
      mode: "lines",
      x: c.steps,
      y: c.raw,
      line: { color: rgba(color, 0.3), width: 1, dash },
      hoverinfo: "skip",
      showlegend: false,
      legendgroup: name,
      ...axes,
    });
  }
  out.push({
    type: "scatter",
    mode: single ? "markers" : c.steps.length <= 25 ? "lines+markers" : "lines",
    name,
    legendgroup: name,
    x: c.steps,
    y: c.mean,
    line: { color, width: 2, dash },
    marker: { color, size: 8 },
    ...axes,
  });
  return out;
}

function resolveX(table: ColumnTable, x: CurveOptions["x"]): "step" | "fraction" {
  return !x || x === "auto" ? trainingAxis(table) : x;
}

/** One metric over steps, one smoothed line (and seed band) per (source, experiment). */
export function curveFigure(
  table: ColumnTable,
  metric: string,
  opts: CurveOptions & { normalize?: boolean; yaxis?: Record<string, unknown> } = {},
): PlotSpec {
  const x = resolveX(table, opts.x);
  let curves = groupCurves(table, metric, { ...opts, x });
  if (opts.normalize) curves = normalizePerExperiment(curves);
  const dashTrl = new Set(curves.map((c) => c.source)).size > 1;
  const data = curves.flatMap((c, i) => curveTraces(c, { color: experimentColor(c.experiment, i), dashTrl }));
  const smooth = (opts.smoothing ?? 0.8) > 0 ? `, EMA ${opts.smoothing ?? 0.8}` : "";
  const layout = baseLayout(opts.title ?? `${metric}${smooth}`, { yTitle: opts.yTitle ?? metric, x });
  if (opts.yaxis) Object.assign(layout.yaxis as object, opts.yaxis);
  return { data, layout };
}

/** Rescales each experiment's curves (all its sources together) to 0 = its lowest, 1 = its highest value (raw or smoothed). */
function normalizePerExperiment(curves: GroupCurve[]): GroupCurve[] {
  const range = new Map<string, [number, number]>();
  for (const c of curves) {
    const [lo, hi] = range.get(c.experiment) ?? [Infinity, -Infinity];
    range.set(c.experiment, [Math.min(lo, ...c.mean, ...c.raw), Math.max(hi, ...c.mean, ...c.raw)]);
  }
  return curves.map((c) => {
    const [lo, hi] = range.get(c.experiment)!;
    const f = (v: number) => (hi > lo ? (v - lo) / (hi - lo) : 0.5);
    return { ...c, raw: c.raw.map(f), mean: c.mean.map(f), lo: c.lo.map(f), hi: c.hi.map(f) };
  });
}

/** Whether the runs' rewards are on different scales (their reward-function sets differ). */
export function mixedRewardScales(table: ColumnTable): boolean {
  const sets = new Set(
    runsOf(table).map((r) => rewardFunctions(r.metrics.keys()).map((f) => f.replace(/#\d+$/, "")).join("+")),
  );
  return sets.size > 1;
}

/**
 * Training reward curves (smoothed, with seed band). When the runs use different reward functions their
 * scales differ, so each experiment is normalized to its own range (0 = lowest, 1 = highest) and the
 * title says so; absolute values are in the per-reward-function panels.
 */
export function rewardCurves(table: ColumnTable, opts: CurveOptions = {}): PlotSpec {
  const w = opts.smoothing ?? 0.8;
  const normalize = mixedRewardScales(table);
  const band = `band: seed ${opts.band === "std" ? "±std" : "min–max"}`;
  return curveFigure(table, "reward", {
    title: normalize
      ? `Training reward, normalized per experiment (0 = its lowest, 1 = its highest; reward scales differ; EMA ${w}; ${band})`
      : `Training reward (EMA ${w}; ${band})`,
    yTitle: normalize ? "reward (normalized per experiment)" : "reward",
    normalize,
    ...opts,
  });
}
