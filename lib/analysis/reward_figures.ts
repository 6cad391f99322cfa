/**
 * The reward-per-function figure, built once: one experiment's total reward and each reward function's
 * mean (smoothed, with the seed band), optionally with its held-out metrics on a right axis. The report's
 * grid has one such panel per experiment ({@linkcode rewardFunctionGrid}), the training notebooks show one
 * per experiment ({@linkcode rewardFunctionFigure}), and the live plot of a run in progress is the same
 * figure over the rows logged so far ({@linkcode liveRewardFigure}).
 * @module
 */
import type { MetricsRow } from "../grpo/mod.ts";
import { EVAL_METRICS } from "../util/mod.ts";
import { trainingAxis } from "./axes.ts";
import { baseLayout, curveTraces, groupCurves, type PlotSpec } from "./figures.ts";
import {
  type ColumnTable,
  KNOWN_EXPERIMENTS,
  type MetricRow,
  normalizeMetricName,
  rewardFunctions,
  runsOf,
  tableFromRows,
} from "./table.ts";

const FN_COLORS = ["#e45756", "#4c78a8", "#54a24b", "#b279a2", "#f58518", "#72b7b2", "#9d755d"];

/** Held-out metrics drawn on the right axis (all on a 0–1 or 0–10 scale), with their line styles. */
const RIGHT_AXIS: readonly [string, { dash: string; color: string }][] = [
  [EVAL_METRICS.accuracy, { dash: "dot", color: "#d62728" }],
  [EVAL_METRICS.accuracyLenient, { dash: "dash", color: "#9467bd" }],
  [EVAL_METRICS.formatRate, { dash: "dashdot", color: "#8c564b" }],
  [EVAL_METRICS.meanAtK, { dash: "longdash", color: "#e377c2" }],
  [EVAL_METRICS.judgeScore, { dash: "dot", color: "#d62728" }],
];

function ofExperiment(table: ColumnTable, experiment: string): ColumnTable {
  return table.params({ exp: experiment }).filter((d: { experiment: string }, $: { exp: string }) =>
    d.experiment === $.exp
  );
}

/** What one panel draws. */
interface PanelOptions {
  smoothing?: number;
  x: "step" | "fraction";
  axes?: Record<string, string>;
  /** Color of reward function `fn` (the total is always dark). */
  color: (fn: string) => string;
}

/** The traces of one experiment's panel: the total reward, then each reward function's mean. */
function panelTraces(sub: ColumnTable, options: PanelOptions): Record<string, unknown>[] {
  const fns = rewardFunctions(runsOf(sub).flatMap((r) => [...r.metrics.keys()]));
  const dashTrl = new Set(sub.array("source")).size > 1;
  const out: Record<string, unknown>[] = [];
  ["reward", ...fns.map((f) => `rewards/${f}/mean`)].forEach((metric, i) => {
    for (const c of groupCurves(sub, metric, { smoothing: options.smoothing, x: options.x })) {
      const color = i === 0 ? "#222222" : options.color(fns[i - 1]);
      const label = `${i === 0 ? "total reward" : fns[i - 1]}${c.source === "trl" ? " (TRL log)" : ""}`;
      for (const t of curveTraces(c, { color, axes: options.axes, dashTrl })) {
        t.legendgroup = label;
        if (t.name) t.name = label;
        out.push(t);
      }
    }
  });
  return out;
}

/** Options of {@linkcode rewardFunctionFigure}. */
export interface RewardFunctionFigureOptions {
  /** The experiment drawn. */
  experiment: string;
  /** EMA weight (default 0.8; 0 draws the values as logged). */
  smoothing?: number;
  /** Draw the held-out metrics (accuracy, format rate, judge score, …) on a right axis. */
  heldOut?: boolean;
  /** Figure title (default: the experiment and the smoothing). */
  title?: string;
}

/** One experiment's total reward and each reward function's mean (mean over its seeds, with the seed band). */
export function rewardFunctionFigure(table: ColumnTable, options: RewardFunctionFigureOptions): PlotSpec {
  const sub = ofExperiment(table, options.experiment);
  const w = options.smoothing ?? 0.8;
  const x = trainingAxis(sub);
  const data = panelTraces(sub, { smoothing: w, x, color: fnColors(sub) });
  let held: string | undefined;
  if (options.heldOut) {
    for (const [metric, line] of RIGHT_AXIS) {
      for (const c of groupCurves(sub, metric, { smoothing: 0, x })) {
        held ??= metric;
        data.push({
          type: "scatter",
          mode: "lines+markers",
          name: `${metric}${c.source === "trl" ? " (TRL log)" : ""} (right axis)`,
          yaxis: "y2",
          x: c.steps,
          y: c.mean,
          line,
          marker: { size: 9, symbol: "diamond" },
        });
      }
    }
  }
  const title = options.title ??
    `${options.experiment}: reward per reward function${w > 0 ? ` (EMA ${w})` : ""}`;
  const layout: Record<string, unknown> = {
    ...baseLayout(title, { yTitle: "reward", x }),
    legend: { orientation: "h", y: -0.25 },
    margin: { l: 60, r: held ? 60 : 20, t: 50, b: 60 },
    height: 400,
    hovermode: "closest",
  };
  if (held) layout.yaxis2 = { title: { text: held }, overlaying: "y", side: "right", rangemode: "tozero" };
  return { data, layout };
}

/** One color per reward function of `table`, the same in every panel. */
function fnColors(table: ColumnTable): (fn: string) => string {
  const all = rewardFunctions(runsOf(table).flatMap((r) => [...r.metrics.keys()]));
  return (fn) => FN_COLORS[Math.max(0, all.indexOf(fn)) % FN_COLORS.length];
}

/** A tidy table of one run from the rows its trainer logged so far (reward columns normalized as on loading). */
export function metricsRowsTable(
  rows: readonly MetricsRow[],
  options: { experiment: string; seed?: number },
): ColumnTable {
  const out: MetricRow[] = [];
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) {
      if (k === "step" || typeof v !== "number" || !Number.isFinite(v)) continue;
      out.push({
        source: "ours",
        experiment: options.experiment,
        seed: options.seed ?? 0,
        step: r.step,
        metric: normalizeMetricName(k),
        value: v,
      });
    }
  }
  return tableFromRows(out);
}

/**
 * The live figure of a run in progress: {@linkcode rewardFunctionFigure} over the rows logged so far, as
 * logged (no smoothing), with the held-out metrics on the right axis.
 */
export function liveRewardFigure(
  rows: readonly MetricsRow[],
  options: { experiment?: string; title?: string } = {},
): PlotSpec {
  const experiment = options.experiment ?? "run";
  return rewardFunctionFigure(metricsRowsTable(rows, { experiment }), {
    experiment,
    smoothing: 0,
    heldOut: true,
    title: options.title ?? "training reward",
  });
}

/** Grid placement: the six known experiments in a 3×2 grid (rows: reward type, columns: task), others 2 per row. */
export function gridLayout(experiments: readonly string[]): { rows: number; cols: number; order: string[] } {
  const known = KNOWN_EXPERIMENTS as readonly string[];
  if (experiments.every((e) => known.includes(e))) return { rows: 3, cols: 2, order: [...known] };
  const order = [...experiments];
  return { rows: Math.max(1, Math.ceil(order.length / 2)), cols: 2, order };
}

/** Options of {@linkcode rewardFunctionGrid}. */
export interface GridOptions {
  /** EMA weight (default 0.8). */
  smoothing?: number;
  /** Figure title. */
  title?: string;
}

/** One subplot per experiment ({@linkcode rewardFunctionFigure}'s traces), one legend entry per function. */
export function rewardFunctionGrid(table: ColumnTable, opts: GridOptions = {}): PlotSpec {
  const exps = [...new Set(runsOf(table).map((r) => r.experiment))];
  const grid = gridLayout(exps);
  const x = trainingAxis(table);
  const data: Record<string, unknown>[] = [];
  const annotations: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    ...baseLayout(opts.title ?? `Reward per reward function (EMA ${opts.smoothing ?? 0.8})`),
    grid: { rows: grid.rows, columns: grid.cols, pattern: "independent", roworder: "top to bottom" },
    height: 300 * grid.rows + 80,
    hovermode: "closest",
  };
  const seenNames = new Set<string>();
  const color = fnColors(table);
  grid.order.forEach((exp, p) => {
    const ax = p === 0 ? "" : String(p + 1);
    const axes = { xaxis: `x${ax}`, yaxis: `y${ax}` };
    layout[`xaxis${ax}`] = {
      title: {
        text: p >= grid.order.length - grid.cols ? (x === "fraction" ? "fraction of training" : "step") : "",
      },
    };
    layout[`yaxis${ax}`] = { title: { text: p % grid.cols === 0 ? "reward" : "" } };
    annotations.push({
      text: `<b>${exp}</b>`,
      xref: `x${ax} domain`,
      yref: `y${ax} domain`,
      x: 0.5,
      y: 1.02,
      xanchor: "center",
      yanchor: "bottom",
      showarrow: false,
    });
    // One color per reward function across all panels, so the legend entry matches every panel.
    const traces = panelTraces(ofExperiment(table, exp), {
      smoothing: opts.smoothing,
      x,
      axes,
      color,
    });
    for (const t of traces) {
      if (t.name) {
        t.showlegend = !seenNames.has(t.name as string);
        seenNames.add(t.name as string);
      }
      data.push(t);
    }
    if (!traces.length) {
      // An empty trace makes plotly draw the panel's axes, so its title and note land in place.
      data.push({
        type: "scatter",
        mode: "lines",
        x: [],
        y: [],
        showlegend: false,
        hoverinfo: "skip",
        ...axes,
      });
      const hidden = { showticklabels: false, showgrid: false, zeroline: false };
      Object.assign(layout[`xaxis${ax}`] as object, hidden);
      Object.assign(layout[`yaxis${ax}`] as object, hidden);
      annotations.push({
        text: "no data",
        xref: `x${ax} domain`,
        yref: `y${ax} domain`,
        x: 0.5,
        y: 0.5,
        showarrow: false,
        font: { color: "#999" },
      });
    }
  });
  layout.annotations = annotations;
  return { data, layout };
}
