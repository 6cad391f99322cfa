/**
 * The tidy run table shared by loading, statistics, integrity checks and figures: one row per
 * (source, experiment, seed, step, metric) with a numeric value, held in an arquero table. Also the
 * naming conventions every consumer relies on (reward functions, held-out metric, experiment order).
 * @module
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { EVAL_METRICS } from "../util/mod.ts";

export type { ColumnTable };

/** Where a run came from: our trainer's output folder, or a TRL `trainer_state.json`. */
export type Source = "ours" | "trl";

/** One tidy row. */
export interface MetricRow {
  /** "ours" or "trl". */
  source: Source;
  /** Experiment id, e.g. "math_hard". */
  experiment: string;
  /** Seed of the run (TRL logs: 0). */
  seed: number;
  /** Optimizer step. */
  step: number;
  /** Metric name, reward columns normalized to `rewards/<fn>/mean` and `rewards/<fn>/std`. */
  metric: string;
  /** Finite number. */
  value: number;
}

/** The table's columns, in order. */
export const COLUMNS = ["source", "experiment", "seed", "step", "metric", "value"] as const;

/** The six experiments of the study, in display order (rows: reward type; columns: task). */
export const KNOWN_EXPERIMENTS = [
  "math_hard",
  "dialogue_hard",
  "math_soft",
  "dialogue_soft",
  "math_perplexity",
  "dialogue_perplexity",
] as const;

/** Builds the tidy arquero table from rows (an empty list gives an empty table with all columns). */
export function tableFromRows(rows: readonly MetricRow[]): ColumnTable {
  return aq.table({
    source: rows.map((r) => r.source),
    experiment: rows.map((r) => r.experiment),
    seed: rows.map((r) => r.seed),
    step: rows.map((r) => r.step),
    metric: rows.map((r) => r.metric),
    value: rows.map((r) => r.value),
  });
}

/** A step series of one metric of one run, sorted by step. */
export interface Series {
  /** Steps, ascending. */
  steps: number[];
  /** Values aligned with `steps`. */
  values: number[];
}

/** Identity of one run. */
export interface RunKey {
  /** "ours" or "trl". */
  source: Source;
  /** Experiment id. */
  experiment: string;
  /** Seed. */
  seed: number;
}

/** One run with all its metric series. */
export interface Run extends RunKey {
  /** Metric name → series. */
  metrics: Map<string, Series>;
}

/** Orders experiment ids: the six known ones first in study order, then others alphabetically. */
export function experimentOrder(a: string, b: string): number {
  const ia = (KNOWN_EXPERIMENTS as readonly string[]).indexOf(a);
  const ib = (KNOWN_EXPERIMENTS as readonly string[]).indexOf(b);
  if (ia >= 0 && ib >= 0) return ia - ib;
  if (ia >= 0) return -1;
  if (ib >= 0) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKeys(a: RunKey, b: RunKey): number {
  return experimentOrder(a.experiment, b.experiment) ||
    (a.source === b.source ? 0 : a.source === "ours" ? -1 : 1) || a.seed - b.seed;
}

/** Splits the table into runs (ordered by experiment, source, seed), each with step-sorted series. */
export function runsOf(table: ColumnTable): Run[] {
  const t = table.orderby("source", "experiment", "seed", "metric", "step");
  const src = t.array("source"), exp = t.array("experiment"), seed = t.array("seed");
  const step = t.array("step"), metric = t.array("metric"), value = t.array("value");
  const runs = new Map<string, Run>();
  for (let i = 0; i < t.numRows(); i++) {
    const key = `${src[i]}\u0000${exp[i]}\u0000${seed[i]}`;
    let run = runs.get(key);
    if (!run) {
      run = {
        source: src[i] as Source,
        experiment: String(exp[i]),
        seed: Number(seed[i]),
        metrics: new Map(),
      };
      runs.set(key, run);
    }
    const m = String(metric[i]);
    let s = run.metrics.get(m);
    if (!s) run.metrics.set(m, s = { steps: [], values: [] });
    s.steps.push(Number(step[i]));
    s.values.push(Number(value[i]));
  }
  return [...runs.values()].sort(compareKeys);
}

/** A run's display name: `math_hard`, `math_hard (TRL log)`, plus ` seed 3` when `withSeed`. */
export function runLabel(key: RunKey, opts: { withSeed?: boolean } = {}): string {
  return `${key.experiment}${key.source === "trl" ? " (TRL log)" : ""}${
    opts.withSeed ? ` seed ${key.seed}` : ""
  }`;
}

/** Group label of an (experiment, source) pair: `math_hard` or `math_hard (TRL log)`. */
export function groupLabel(key: { source: Source; experiment: string }): string {
  return runLabel({ ...key, seed: 0 });
}

/**
 * Normalizes a logged metric name. Reward columns come as `rewards/<fn>`, `rewards/<fn>/mean`,
 * `rewards/<fn>/std` depending on TRL version, and duplicated names keep a `#2` suffix
 * (`rewards/f/mean#2`); all become `rewards/<fn>/mean` / `rewards/<fn>/std` with the suffix on the
 * function name (`rewards/f#2/mean`), so each reward function has one distinct name.
 */
export function normalizeMetricName(name: string): string {
  if (!name.startsWith("rewards/")) return name;
  let rest = name.slice("rewards/".length);
  let dup = "";
  const m = /^(.*?)(#\d+)$/.exec(rest);
  if (m) [rest, dup] = [m[1], m[2]];
  const parts = rest.split("/");
  const last = parts[parts.length - 1];
  if (parts.length > 1 && (last === "mean" || last === "std")) {
    return `rewards/${parts.slice(0, -1).join("/")}${dup}/${last}`;
  }
  return `rewards/${rest}${dup}/mean`;
}

/** Reward function names found among metric names (`rewards/<fn>/mean`), sorted (`f` before `f#2`). */
export function rewardFunctions(metrics: Iterable<string>): string[] {
  const out: string[] = [];
  for (const m of metrics) {
    const r = /^rewards\/(.+)\/mean$/.exec(m);
    if (r && !out.includes(r[1])) out.push(r[1]);
  }
  const key = (f: string): [string, number] => {
    const d = /^(.*)#(\d+)$/.exec(f);
    return d ? [d[1], Number(d[2])] : [f, 1];
  };
  return out.sort((a, b) => {
    const [ba, na] = key(a), [bb, nb] = key(b);
    return ba < bb ? -1 : ba > bb ? 1 : na - nb;
  });
}

const EVAL_SKIP = /(loss|runtime|samples_per_second|steps_per_second|epoch)$/;

/**
 * The held-out metric among metric names: `eval/accuracy`, then `eval/judge_score`, then the first
 * other `eval/…` or TRL `eval_…` column that is not loss or timing. Undefined when none.
 */
export function heldOutMetric(metrics: Iterable<string>): string | undefined {
  const all = [...metrics];
  for (const m of [EVAL_METRICS.accuracy, EVAL_METRICS.judgeScore]) if (all.includes(m)) return m;
  return all.filter((m) => /^eval[/_]/.test(m) && !EVAL_SKIP.test(m)).sort()[0];
}

const EVAL_COUNTERS =
  /^eval\/judge_(calls|ok|fallbacks|cache_hits|errors|retries|fallback_frac)$|_ci_(low|high)$/;

/**
 * Every held-out metric among metric names, for figures: all `eval/…` (and TRL `eval_…`) columns except
 * loss and timing, the judge's call counters and fallback share, and interval bounds (`…_ci_low`,
 * `…_ci_high`); the primary {@linkcode heldOutMetric} first, then the others sorted.
 */
export function heldOutMetrics(metrics: Iterable<string>): string[] {
  const all = [...new Set(metrics)];
  const primary = heldOutMetric(all);
  const rest = all.filter((m) =>
    /^eval[/_]/.test(m) && !EVAL_SKIP.test(m) && !EVAL_COUNTERS.test(m) && m !== primary
  )
    .sort();
  return primary ? [primary, ...rest] : rest;
}

/** The training reward series of a run: `reward`, or the step-wise sum of reward-function means. */
export function rewardSeries(run: Run): Series | undefined {
  const total = run.metrics.get("reward");
  if (total) return total;
  const fns = rewardFunctions(run.metrics.keys()).map((f) => run.metrics.get(`rewards/${f}/mean`)!);
  if (!fns.length) return undefined;
  const sums = new Map<number, number>();
  for (const s of fns) s.steps.forEach((st, i) => sums.set(st, (sums.get(st) ?? 0) + s.values[i]));
  const steps = [...sums.keys()].sort((a, b) => a - b);
  return { steps, values: steps.map((s) => sums.get(s)!) };
}

/**
 * How to show a held-out metric: an accuracy logged as a fraction (all |values| ≤ `maxAbs` ≤ 1) in
 * percentage points, anything else as logged.
 */
export function heldOutUnit(metric: string, maxAbs = 1): { scale: number; unit: string; name: string } {
  const name = metric.replace(/^eval[/_]/, "").replace(/_/g, " ");
  return /accuracy|_rate$|mean_at_k/.test(metric) && maxAbs <= 1
    ? { scale: 100, unit: " points", name }
    : { scale: 1, unit: "", name };
}
