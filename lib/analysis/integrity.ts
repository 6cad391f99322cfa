/**
 * Integrity checks on logged runs: signs that a comparison would mislead (a reward function counted
 * twice, no reward signal, groups without variance, judge fallbacks, length blow-up, no held-out
 * metric). Each finding is a code plus one plain sentence computed from the data.
 * @module
 */
import { mean } from "./stats.ts";
import {
  type ColumnTable,
  heldOutMetric,
  rewardFunctions,
  rewardSeries,
  type Run,
  runLabel,
  runsOf,
  type Series,
  type Source,
} from "./table.ts";

/** Codes of {@linkcode Finding}. */
export type FindingCode =
  | "identical_reward_columns"
  | "constant_reward"
  | "all_zero_reward"
  | "high_zero_std_fraction"
  | "judge_fallback"
  | "judge_master_key"
  | "length_blowup"
  | "saturated_reward"
  | "settings_differ"
  | "missing_eval";

/** How much a finding matters: `error` (a comparison would mislead), `warning` (read with care), `info`. */
export type Severity = "error" | "warning" | "info";

/** Severity of each finding code. */
export const SEVERITY: Readonly<Record<FindingCode, Severity>> = {
  all_zero_reward: "error",
  constant_reward: "error",
  judge_fallback: "error",
  judge_master_key: "error",
  identical_reward_columns: "warning",
  high_zero_std_fraction: "warning",
  saturated_reward: "warning",
  length_blowup: "warning",
  settings_differ: "warning",
  missing_eval: "info",
};

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Sorts findings by severity (errors first), keeping their order within a severity. */
export function sortFindings<T extends { severity: Severity }>(findings: readonly T[]): T[] {
  return findings.map((f, i) => ({ f, i })).sort((a, b) =>
    RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i
  )
    .map((x) => x.f);
}

/** One integrity problem of one run. */
export interface Finding {
  /** What kind of problem. */
  code: FindingCode;
  /** How much it matters ({@linkcode SEVERITY} of the code). */
  severity: Severity;
  /** Experiment id. */
  experiment: string;
  /** "ours" or "trl". */
  source: Source;
  /** Seed of the run. */
  seed: number;
  /** One plain sentence. */
  message: string;
}

/** Thresholds of {@linkcode checkIntegrity}. */
export interface IntegrityOptions {
  /** Mean `frac_reward_zero_std` above which groups carry too little signal (default 0.5). */
  zeroStdFraction?: number;
  /** Mean `judge/fallback_frac` above which judge scores are suspect (default 0.05). */
  judgeFallback?: number;
  /** End/start completion-length ratio counted as a blow-up (default 1.5). */
  lengthRatio?: number;
  /** Steps in the start/end windows (default 10; at most half the run). */
  window?: number;
  /** Mean master-key score (0–10, `judge/master_key_score`) above which the judge is fooled (default 2). */
  masterKeyScore?: number;
  /** Mean within-group reward std (`reward_std`, above 0) below which a reward is saturated (default 0.01). */
  saturatedStd?: number;
}

const EPS = 1e-12;

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(0)}%`;
}

function sameValues(a: Series, b: Series): boolean {
  if (a.steps.length !== b.steps.length) return false;
  for (let i = 0; i < a.steps.length; i++) {
    if (a.steps[i] !== b.steps[i] || Math.abs(a.values[i] - b.values[i]) > EPS) return false;
  }
  return true;
}

function list(names: string[]): string {
  const q = names.map((n) => `"${n}"`);
  return q.length <= 2 ? q.join(" and ") : `${q.slice(0, -1).join(", ")} and ${q[q.length - 1]}`;
}

function windows(values: number[], window: number): [number, number, number] {
  const w = Math.max(1, Math.min(window, Math.floor(values.length / 2)));
  return [mean(values.slice(0, w)), mean(values.slice(values.length - w)), w];
}

function checkRun(run: Run, opts: IntegrityOptions, withSeed: boolean): Finding[] {
  const who = runLabel(run, { withSeed });
  const out: Finding[] = [];
  const add = (code: FindingCode, message: string) =>
    out.push({
      code,
      severity: SEVERITY[code],
      experiment: run.experiment,
      source: run.source,
      seed: run.seed,
      message: `${who}: ${message}`,
    });
  const fns = rewardFunctions(run.metrics.keys());
  const fnSeries = fns.map((f) => run.metrics.get(`rewards/${f}/mean`)!);

  for (let i = 0; i < fns.length; i++) {
    for (let j = i + 1; j < fns.length; j++) {
      if (sameValues(fnSeries[i], fnSeries[j])) {
        add(
          "identical_reward_columns",
          `reward functions ${list([fns[i], fns[j]])} logged identical values at all ${
            fnSeries[i].steps.length
          } ` +
            `steps, so the same reward is probably counted twice.`,
        );
      }
    }
  }

  const columns: [string, Series][] = [];
  const total = run.metrics.get("reward");
  if (total) columns.push(["reward (total)", total]);
  fns.forEach((f, i) => columns.push([f, fnSeries[i]]));
  const zero = columns.filter(([, s]) => s.values.length && s.values.every((v) => Math.abs(v) <= EPS));
  if (zero.length) {
    const steps = zero[0][1].values.length;
    add(
      "all_zero_reward",
      `${zero.length > 1 ? "rewards" : "reward"} ${list(zero.map(([n]) => n))} ${
        zero.length > 1 ? "are" : "is"
      } 0 ` +
        `at every logged step (${steps}), so ${zero.length > 1 ? "they give" : "it gives"} GRPO no signal.`,
    );
  }
  const constant = columns.filter(([, s]) =>
    s.values.length > 1 && s.values.some((v) => Math.abs(v) > EPS) &&
    s.values.every((v) => Math.abs(v - s.values[0]) <= EPS)
  );
  for (const [name, s] of constant) {
    add("constant_reward", `reward "${name}" stays at ${fmt(s.values[0])} at all ${s.values.length} steps.`);
  }

  const reward = rewardSeries(run);
  const zs = run.metrics.get("frac_reward_zero_std");
  const threshold = opts.zeroStdFraction ?? 0.5;
  if (zs?.values.length) {
    const m = mean(zs.values);
    if (m > threshold) {
      add(
        "high_zero_std_fraction",
        `on average ${pct(m)} of prompt groups had identical rewards (frac_reward_zero_std), above ` +
          `the ${pct(threshold)} threshold, so most groups gave no gradient.`,
      );
    }
  } else {
    const rs = run.metrics.get("reward_std");
    if (rs?.values.length) {
      const f = rs.values.filter((v) => Math.abs(v) <= EPS).length / rs.values.length;
      if (f > threshold) {
        add(
          "high_zero_std_fraction",
          `reward_std was 0 at ${pct(f)} of steps (frac_reward_zero_std not logged), above the ` +
            `${pct(threshold)} threshold, so those steps gave no gradient.`,
        );
      }
    }
  }

  const rstd = run.metrics.get("reward_std");
  const satMax = opts.saturatedStd ?? 0.01;
  if (rstd?.values.length && reward?.values.length) {
    const m = mean(rstd.values), r = mean(reward.values);
    if (m > EPS && m < satMax) {
      add(
        "saturated_reward",
        `the within-group reward spread is tiny: reward_std ${
          fmt(m)
        } on average over ${rstd.values.length} ` +
          `logged steps (mean reward ${fmt(r)}, below the ${fmt(satMax)} threshold); group scaling divides ` +
          `differences of about ${fmt(m)} by it, so noise becomes advantages of order ±1.`,
      );
    }
  }

  const fb = run.metrics.get("judge/fallback_frac");
  const fbMax = opts.judgeFallback ?? 0.05;
  if (fb?.values.length && mean(fb.values) > fbMax) {
    add(
      "judge_fallback",
      `the judge fell back to a default score for ${pct(mean(fb.values))} of calls on average (max ` +
        `${pct(Math.max(...fb.values))} in one step), above the ${pct(fbMax)} threshold.`,
    );
  }

  const mk = run.metrics.get("judge/master_key_score");
  const mkMax = opts.masterKeyScore ?? 2;
  if (mk?.values.length && Math.max(...mk.values) > mkMax) {
    add(
      "judge_master_key",
      `the judge paid answers that say nothing (":", "Thought process:", the question restated) ${
        fmt(Math.max(...mk.values))
      }/10 on average in its master-key audit, above the ${
        fmt(mkMax)
      }/10 threshold: its scores can be gamed.`,
    );
  }

  const len = run.metrics.get("completions/mean_length");
  if (len && len.values.length >= 2 && reward && reward.values.length >= 2) {
    const [l0, l1] = windows(len.values, opts.window ?? 10);
    const [r0, r1, w] = windows(reward.values, opts.window ?? 10);
    const ratio = opts.lengthRatio ?? 1.5;
    if (l0 > 0 && l1 / l0 > ratio && r1 <= r0 + EPS) {
      add(
        "length_blowup",
        `mean completion length grew from ${fmt(l0)} to ${fmt(l1)} tokens (×${
          (l1 / l0).toFixed(2)
        }, first vs last ` +
          `${w} steps) while reward did not rise (${fmt(r0)} → ${fmt(r1)}).`,
      );
    }
  }

  const h = heldOutMetric(run.metrics.keys());
  const hs = h ? run.metrics.get(h) : undefined;
  if (!h || !hs?.values.length) {
    add(
      "missing_eval",
      "no held-out metric (eval/accuracy or eval/judge_score) was logged, so only the training reward can be judged.",
    );
  } else if (hs.values.length < 2) {
    add(
      "missing_eval",
      `${h} was evaluated only once (step ${hs.steps[0]}), so its change cannot be measured.`,
    );
  }
  return out;
}

/** Runs every check on every run of the table; findings come errors first, then warnings, then info, each in run order. */
export function checkIntegrity(table: ColumnTable, opts: IntegrityOptions = {}): Finding[] {
  const runs = runsOf(table);
  const seedsPer = new Map<string, number>();
  for (const r of runs) {
    seedsPer.set(`${r.source}/${r.experiment}`, (seedsPer.get(`${r.source}/${r.experiment}`) ?? 0) + 1);
  }
  return sortFindings(
    runs.flatMap((r) => checkRun(r, opts, (seedsPer.get(`${r.source}/${r.experiment}`) ?? 0) > 1)),
  );
}

/**
 * The judge-fallback caveat of each (source, experiment) whose training rewards or evaluation used the
 * local fallback (`judge/fallback_frac`, `eval/judge_fallback_frac` above 0), keyed `source/experiment`:
 * e.g. "judge fallback: 100% of training judge calls and 100% of held-out judge scores came from the
 * local fallback, not Gemini".
 */
export function judgeFallbackCaveats(table: ColumnTable): Map<string, string> {
  const acc = new Map<string, { train: number[]; eval: number[] }>();
  for (const run of runsOf(table)) {
    const k = `${run.source}/${run.experiment}`;
    if (!acc.has(k)) acc.set(k, { train: [], eval: [] });
    acc.get(k)!.train.push(...(run.metrics.get("judge/fallback_frac")?.values ?? []));
    acc.get(k)!.eval.push(...(run.metrics.get("eval/judge_fallback_frac")?.values ?? []));
  }
  const out = new Map<string, string>();
  for (const [k, v] of acc) {
    const parts: string[] = [];
    if (v.train.length && mean(v.train) > 0) parts.push(`${pct(mean(v.train))} of training judge calls`);
    if (v.eval.length && mean(v.eval) > 0) parts.push(`${pct(mean(v.eval))} of held-out judge scores`);
    if (parts.length) {
      out.set(k, `judge fallback: ${parts.join(" and ")} came from the local fallback, not Gemini`);
    }
  }
  return out;
}
