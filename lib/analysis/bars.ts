/**
 * Bar charts of experiment statistics with their 95 % intervals as error bars. Every y axis starts at
 * zero (or reaches it, for changes) and covers the whole interval, so a 59–62 spread never fills a
 * panel. Final training rewards are on one panel per experiment, since reward scales differ between
 * reward functions. Held-out improvements use the paired per-problem interval when the evaluation log
 * has one (one seed is then enough), else the t interval over seeds.
 * @module
 */
import type { CI } from "./bootstrap.ts";
import { experimentColor, type PlotSpec } from "./figures.ts";
import type { PairedComparison } from "./paired.ts";
import type { ExperimentStats } from "./stats.ts";
import { groupLabel, heldOutUnit } from "./table.ts";
import { EVAL_METRICS } from "../util/mod.ts";

interface BarRow {
  label: string;
  experiment: string;
  trl: boolean;
  ci: CI;
  note: string;
}

/** A y range from zero (or below it) to past the interval, with 8 % headroom. */
export function zeroBasedRange(lows: readonly number[], highs: readonly number[]): [number, number] {
  const lo = Math.min(0, ...lows.filter(Number.isFinite)), hi = Math.max(0, ...highs.filter(Number.isFinite));
  const pad = 0.08 * (hi - lo || 1);
  return [lo < 0 ? lo - pad : 0, hi > 0 ? hi + pad : 0 + (lo < 0 ? pad : 1)];
}

function barTrace(rows: readonly BarRow[], scale: number, axes: Record<string, string> = {}) {
  return {
    type: "bar",
    x: rows.map((r) => r.label),
    y: rows.map((r) => r.ci.estimate * scale),
    marker: {
      color: rows.map((r, i) => experimentColor(r.experiment, i)),
      pattern: { shape: rows.map((r) => (r.trl ? "/" : "")) },
    },
    error_y: {
      type: "data",
      symmetric: false,
      array: rows.map((r) => (Number.isFinite(r.ci.hi) ? (r.ci.hi - r.ci.estimate) * scale : 0)),
      arrayminus: rows.map((r) => (Number.isFinite(r.ci.lo) ? (r.ci.estimate - r.ci.lo) * scale : 0)),
      visible: true,
    },
    text: rows.map((r) => r.note),
    textposition: "none",
    hovertemplate: "%{x}: %{y:.3f} (%{text})<extra></extra>",
    showlegend: false,
    ...axes,
  };
}

function seedNote(ci: CI): string {
  return ci.n > 1 ? `${ci.n} seeds, 95% CI` : "1 seed, no interval";
}

/**
 * Final training reward (last-window mean) with the 95 % t interval over seeds: one panel per
 * experiment, each with its own y axis from zero, because reward scales differ between experiments.
 */
export function finalRewardBars(stats: readonly ExperimentStats[]): PlotSpec {
  const exps = [...new Set(stats.map((s) => s.experiment))];
  const cols = Math.min(3, Math.max(1, exps.length)), rows = Math.ceil(exps.length / cols);
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    title: {
      text: "Final training reward (last-window mean; 95% t interval over seeds; own axis per experiment)",
    },
    grid: { rows, columns: cols, pattern: "independent", roworder: "top to bottom" },
    height: 280 * rows + 90,
    margin: { l: 60, r: 20, t: 60, b: 60 },
    hovermode: "closest",
    showlegend: false,
  };
  exps.forEach((e, p) => {
    const ax = p === 0 ? "" : String(p + 1);
    const rs: BarRow[] = stats.filter((s) => s.experiment === e && Number.isFinite(s.rewardEnd.estimate)).map(
      (
        s,
      ) => ({
        label: groupLabel(s),
        experiment: e,
        trl: s.source === "trl",
        ci: s.rewardEnd,
        note: seedNote(s.rewardEnd),
      }),
    );
    data.push(barTrace(rs, 1, { xaxis: `x${ax}`, yaxis: `y${ax}` }));
    layout[`xaxis${ax}`] = { automargin: true };
    layout[`yaxis${ax}`] = {
      title: { text: p % cols === 0 ? "reward" : "" },
      range: zeroBasedRange(rs.map((r) => r.ci.lo), rs.map((r) => Math.max(r.ci.hi, r.ci.estimate))),
    };
  });
  return { data, layout };
}

/** Options of {@linkcode heldOutBars}. */
export interface HeldOutBarOptions {
  /** Held-out metric (default: the first with an improvement). */
  metric?: string;
  /** Paired comparisons against the base model: their per-problem interval replaces the one over seeds. */
  paired?: readonly PairedComparison[];
}

/** Held-out improvement (last − first evaluation) per experiment with its 95 % interval; y axis through zero. */
export function heldOutBars(stats: readonly ExperimentStats[], opts: HeldOutBarOptions = {}): PlotSpec {
  const metric = opts.metric ?? stats.find((s) => s.heldOutDelta)?.heldOutMetric ?? EVAL_METRICS.accuracy;
  const sel = stats.filter((s) => s.heldOutMetric === metric && s.heldOutDelta);
  const maxAbs = Math.max(
    0,
    ...sel.flatMap((s) => [s.heldOutBefore?.hi ?? 0, s.heldOutAfter?.hi ?? 0].map(Math.abs)),
  );
  const u = heldOutUnit(metric, maxAbs);
  const kind = /accuracy/.test(metric) ? "accuracy" : /judge/.test(metric) ? "judge score" : undefined;
  const rows: BarRow[] = sel.map((s) => {
    const p = opts.paired?.find((c) =>
      c.source === s.source && c.a === s.experiment && c.b === "base model" && c.metric === kind
    );
    if (p && (metric === EVAL_METRICS.accuracy || metric === EVAL_METRICS.judgeScore)) {
      return {
        label: groupLabel(s),
        experiment: s.experiment,
        trl: s.source === "trl",
        ci: p.diff,
        note: `paired 95% CI over ${p.diff.n} problems`,
      };
    }
    return {
      label: groupLabel(s),
      experiment: s.experiment,
      trl: s.source === "trl",
      ci: s.heldOutDelta!,
      note: seedNote(s.heldOutDelta!),
    };
  }).filter((r) => Number.isFinite(r.ci.estimate));
  const anyPaired = rows.some((r) => r.note.startsWith("paired"));
  return {
    data: [barTrace(rows, u.scale)],
    layout: {
      title: {
        text: `Held-out ${u.name} improvement (after − before; 95% ${
          anyPaired
            ? "paired per-problem CI where logged, else bootstrap over seeds"
            : "t interval over seeds"
        })`,
      },
      xaxis: { automargin: true, tickangle: rows.length > 6 ? -30 : 0 },
      yaxis: {
        title: { text: `Δ ${u.name}${u.unit}` },
        range: zeroBasedRange(
          rows.map((r) => Math.min(r.ci.lo, r.ci.estimate) * u.scale),
          rows.map((r) => Math.max(r.ci.hi, r.ci.estimate) * u.scale),
        ),
        zeroline: true,
        zerolinewidth: 2,
      },
      legend: { orientation: "h", y: -0.2 },
      margin: { l: 60, r: 20, t: 50, b: 60 },
      height: 420,
      hovermode: "closest",
      showlegend: false,
    },
  };
}
