/**
 * Statistics of runs: reward at start vs end (window means), least-squares slope, stability (std
 * of the step-to-step change), held-out metric before vs after; across seeds the mean with a Student t
 * 95% CI, and differences between experiments by a t interval paired by seed (Welch's when the seeds are
 * not shared) — intervals that keep their level at 2–10 seeds, unlike a percentile bootstrap of so few
 * values (seed_stats.ts). With one seed the "interval" is the value itself (`n` = 1 says so). Pure.
 * @module
 */
export { mean, median, quantileSorted, sampleStd } from "../util/mod.ts";
export * from "./bootstrap.ts";
import { mean, sampleStd } from "../util/mod.ts";
import type { BootstrapOptions, CI } from "./bootstrap.ts";
import { seedDiffCI, type SeedValue, tMeanCI } from "./seed_stats.ts";
import {
  type ColumnTable,
  experimentOrder,
  heldOutMetric,
  rewardSeries,
  runsOf,
  type Source,
} from "./table.ts";

/** Across-seed mean with its t interval; one value: the value itself; none: NaN. */
function seedMeanCI(values: readonly SeedValue[], level?: number): CI {
  const c = tMeanCI(values, { level });
  const ci = { estimate: c.estimate, lo: c.lo, hi: c.hi, n: c.n };
  return c.n === 1 ? { ...ci, lo: c.estimate, hi: c.estimate } : ci;
}

/** Difference across seeds (paired t on shared seeds, else Welch); without an interval: the estimate. */
function seedDiff(a: readonly SeedValue[], b: readonly SeedValue[], level?: number): CI {
  const c = seedDiffCI(a, b, { level });
  const ci = { estimate: c.estimate, lo: c.lo, hi: c.hi, n: c.n };
  return Number.isFinite(c.lo) || !c.n ? ci : { ...ci, lo: c.estimate, hi: c.estimate };
}

/** Least-squares slope of `ys` against `xs` (0 when xs has no spread). */
export function leastSquaresSlope(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs), my = mean(ys);
  let sxy = 0, sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

/** Stability: sample std of the step-to-step changes `ys[i+1] − ys[i]` (lower is steadier). */
export function stepChangeStd(ys: readonly number[]): number {
  return sampleStd(ys.slice(1).map((y, i) => y - ys[i]));
}

/** Held-out metric of one run, first vs last evaluation. */
export interface HeldOut {
  /** Metric name, e.g. `eval/accuracy`. */
  metric: string;
  /** Value at the first evaluation. */
  before: number;
  /** Value at the last evaluation (equals `before` when evaluated once). */
  after: number;
  /** after − before (NaN when evaluated once). */
  delta: number;
  /** Number of evaluations. */
  evals: number;
  /** Steps of the first and last evaluation. */
  steps: [number, number];
}

/** Statistics of one run. */
export interface RunStats {
  /** "ours" or "trl". */
  source: Source;
  /** Experiment id. */
  experiment: string;
  /** Seed. */
  seed: number;
  /** Logged reward steps. */
  steps: number;
  /** Steps in each of the start and end windows. */
  window: number;
  /** Mean reward over the first `window` steps. */
  rewardStart: number;
  /** Mean reward over the last `window` steps. */
  rewardEnd: number;
  /** rewardEnd − rewardStart. */
  rewardDelta: number;
  /** Least-squares reward slope per step. */
  slope: number;
  /** Std of the step-to-step reward change. */
  stability: number;
  /** Held-out metric, when logged. */
  heldOut?: HeldOut;
}

/** Options of {@linkcode runStats}. */
export interface RunStatsOptions {
  /** Steps in the start and end windows (default 10; at most half the run). */
  window?: number;
}

/** Per-run statistics of every run in the table that logged a reward. */
export function runStats(table: ColumnTable, opts: RunStatsOptions = {}): RunStats[] {
  const out: RunStats[] = [];
  for (const run of runsOf(table)) {
    const r = rewardSeries(run);
    if (!r || !r.values.length) continue;
    const n = r.values.length;
    const w = Math.max(1, Math.min(opts.window ?? 10, Math.floor(n / 2)));
    const rewardStart = mean(r.values.slice(0, w)), rewardEnd = mean(r.values.slice(n - w));
    const stats: RunStats = {
      source: run.source,
      experiment: run.experiment,
      seed: run.seed,
      steps: n,
      window: w,
      rewardStart,
      rewardEnd,
      rewardDelta: rewardEnd - rewardStart,
      slope: leastSquaresSlope(r.steps, r.values),
      stability: stepChangeStd(r.values),
    };
    const h = heldOutMetric(run.metrics.keys());
    const hs = h ? run.metrics.get(h) : undefined;
    if (h && hs?.values.length) {
      const k = hs.values.length;
      stats.heldOut = {
        metric: h,
        before: hs.values[0],
        after: hs.values[k - 1],
        delta: k > 1 ? hs.values[k - 1] - hs.values[0] : NaN,
        evals: k,
        steps: [hs.steps[0], hs.steps[k - 1]],
      };
    }
    out.push(stats);
  }
  return out;
}

/** Statistics of one experiment (one source) across its seeds. */
export interface ExperimentStats {
  /** "ours" or "trl". */
  source: Source;
  /** Experiment id. */
  experiment: string;
  /** Seeds included. */
  seeds: number[];
  /** Smallest start/end window (steps) among the seeds. */
  window: number;
  /** Start-window reward across seeds. */
  rewardStart: CI;
  /** End-window reward across seeds. */
  rewardEnd: CI;
  /** End − start reward across seeds. */
  rewardDelta: CI;
  /** Reward slope across seeds. */
  slope: CI;
  /** Stability across seeds. */
  stability: CI;
  /** Held-out metric name (when every seed logged the same one). */
  heldOutMetric?: string;
  /** Held-out before, across seeds. */
  heldOutBefore?: CI;
  /** Held-out after, across seeds. */
  heldOutAfter?: CI;
  /** Held-out after − before, across seeds with two or more evaluations. */
  heldOutDelta?: CI;
}

/** Measures a comparison can use. */
export type Measure = "heldOutDelta" | "heldOutAfter" | "rewardDelta" | "rewardEnd" | "slope";

function measureOf(s: RunStats, m: Measure): number {
  switch (m) {
    case "heldOutDelta":
      return s.heldOut?.delta ?? NaN;
    case "heldOutAfter":
      return s.heldOut?.after ?? NaN;
    default:
      return s[m];
  }
}

function groups(stats: readonly RunStats[]): RunStats[][] {
  const m = new Map<string, RunStats[]>();
  for (const s of stats) {
    const k = `${s.source}\u0000${s.experiment}`;
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(s);
  }
  return [...m.values()].sort((a, b) =>
    experimentOrder(a[0].experiment, b[0].experiment) || (a[0].source === "ours" ? -1 : 1)
  );
}

/**
 * Aggregates run statistics per (source, experiment) with Student t CIs across seeds (`opts.level`; the
 * bootstrap options `seed` and `resamples` are accepted and unused).
 */
export function experimentStats(stats: readonly RunStats[], opts: BootstrapOptions = {}): ExperimentStats[] {
  return groups(stats).map((g) => {
    const ci = (f: (s: RunStats) => number) =>
      seedMeanCI(
        g.map((s) => ({ seed: s.seed, value: f(s) })).filter((v) => Number.isFinite(v.value)),
        opts.level,
      );
    const out: ExperimentStats = {
      source: g[0].source,
      experiment: g[0].experiment,
      seeds: g.map((s) => s.seed),
      window: Math.min(...g.map((s) => s.window)),
      rewardStart: ci((s) => s.rewardStart),
      rewardEnd: ci((s) => s.rewardEnd),
      rewardDelta: ci((s) => s.rewardDelta),
      slope: ci((s) => s.slope),
      stability: ci((s) => s.stability),
    };
    const names = new Set(g.map((s) => s.heldOut?.metric));
    if (names.size === 1 && g[0].heldOut) {
      out.heldOutMetric = g[0].heldOut.metric;
      out.heldOutBefore = ci((s) => s.heldOut!.before);
      out.heldOutAfter = ci((s) => s.heldOut!.after);
      const d = ci((s) => s.heldOut!.delta);
      if (d.n > 0) out.heldOutDelta = d;
    }
    return out;
  });
}

/** A difference between two experiments on one measure. */
export interface Comparison {
  /** Source of both experiments. */
  source: Source;
  /** First experiment. */
  a: string;
  /** Second experiment. */
  b: string;
  /** The measure compared. */
  measure: Measure;
  /** Held-out metric name for held-out measures. */
  metric?: string;
  /** mean(a) − mean(b) with its t CI (paired by seed when the seeds are shared, else Welch). */
  diff: CI;
  /** Seeds in each group. */
  nA: number;
  /** Seeds in the second group. */
  nB: number;
}

/** Options of {@linkcode compareExperimentStats}. */
export interface CompareOptions extends BootstrapOptions {
  /** Measure compared (default "heldOutDelta"). */
  measure?: Measure;
  /**
   * Pairs [a, b] of experiment ids. Default: every pair in the same source whose runs share the held-out
   * metric (held-out measures) or the task prefix before the first "_" (reward measures).
   */
  pairs?: readonly (readonly [string, string])[];
}

/** Differences between experiments on one measure, each with a t CI over seeds (paired by seed, else Welch). */
export function compareExperimentStats(stats: readonly RunStats[], opts: CompareOptions = {}): Comparison[] {
  const measure = opts.measure ?? "heldOutDelta";
  const heldOut = measure.startsWith("heldOut");
  const gs = groups(stats).map((g) => ({
    source: g[0].source,
    experiment: g[0].experiment,
    values: g.map((s) => ({ seed: s.seed, value: measureOf(s, measure) })).filter((v) =>
      Number.isFinite(v.value)
    ),
    kind: heldOut ? g[0].heldOut?.metric : g[0].experiment.split("_")[0],
  })).filter((g) => g.values.length && g.kind !== undefined);
  const out: Comparison[] = [];
  for (let i = 0; i < gs.length; i++) {
    for (let j = i + 1; j < gs.length; j++) {
      const [a, b] = [gs[i], gs[j]];
      if (a.source !== b.source) continue;
      const wanted = opts.pairs
        ? opts.pairs.some(([x, y]) =>
          (x === a.experiment && y === b.experiment) || (x === b.experiment && y === a.experiment)
        )
        : a.kind === b.kind;
      if (!wanted) continue;
      const flip = opts.pairs?.some(([x, y]) => x === b.experiment && y === a.experiment) ?? false;
      const [p, q] = flip ? [b, a] : [a, b];
      out.push({
        source: p.source,
        a: p.experiment,
        b: q.experiment,
        measure,
        ...(heldOut ? { metric: p.kind } : {}),
        diff: seedDiff(p.values, q.values, opts.level),
        nA: p.values.length,
        nB: q.values.length,
      });
    }
  }
  return out;
}
