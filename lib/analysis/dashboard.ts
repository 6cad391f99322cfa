/**
 * The standard set of figures for a table of runs, as used by the HTML report and the notebooks.
 * Figures whose metric no run logged are left out with the reason, never drawn empty.
 * @module
 */
import {
  curveFigure,
  finalRewardBars,
  heldOutBars,
  type PlotSpec,
  rewardCurves,
  rewardFunctionGrid,
} from "./figures.ts";
import { type ExperimentStats, experimentStats, runStats } from "./stats.ts";
import { type ColumnTable, heldOutMetric, heldOutUnit, runsOf } from "./table.ts";
import { timingSplitFigure } from "./timing.ts";

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
    rewardFunctionGrid(table, curve),
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
  const heldOut = [
    ...new Set(runs.map((r) => heldOutMetric(r.metrics.keys())).filter((m): m is string => !!m)),
  ];
  if (!heldOut.length) {
    omitted.push({
      id: "held_out",
      title: "Held-out metric",
      reason: "no run logged eval/accuracy or eval/judge_score",
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
      heldOutBars(stats, { metric: m }),
      "",
    );
  }
  return { figures, omitted };
}
