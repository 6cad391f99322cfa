/**
 * The per-run measures the claims read (held-out gains, drops between evaluations, the across-seed spread,
 * the judge's own counters, length collapse), and the gates that make a verdict inconclusive (judge never
 * reached, held-out scores mostly from the fallback, a judge fooled by its master-key audit).
 * @module
 */
import { EVAL_METRICS, mean, median } from "../util/mod.ts";
import type { Run } from "./table.ts";

/** Held-out judge scores from the fallback above this share make a dialogue verdict inconclusive. */
export const EVAL_FALLBACK_GATE = 0.5;

/** A judge counter's short name. */
export type JudgeCounter =
  | "calls"
  | "ok"
  | "fallbacks"
  | "cacheHits"
  | "errors"
  | "retries"
  | "fallbackFrac"
  | "masterKeyScore";

/** The trainer's judge counters, summed over the steps of each logged row (lib/grpo/logging.ts). */
export const JUDGE_COUNTERS: Readonly<Record<JudgeCounter, string>> = Object.freeze({
  calls: "judge/calls",
  ok: "judge/ok",
  fallbacks: "judge/fallbacks",
  cacheHits: "judge/cache_hits",
  errors: "judge/errors",
  retries: "judge/retries",
  fallbackFrac: "judge/fallback_frac",
  masterKeyScore: "judge/master_key_score",
});

/** A per-run number (undefined when the run did not log what it needs); `arm`: every pooled run of its arm. */
export type RunMeasure = (run: Run, arm: readonly Run[]) => number | undefined;

function series(run: Run, metric: string): number[] {
  return run.metrics.get(metric)?.values ?? [];
}

function lastMinusFirst(metric: string): RunMeasure {
  return (run) => {
    const v = series(run, metric);
    return v.length >= 2 ? v[v.length - 1] - v[0] : undefined;
  };
}

function sum(run: Run, metric: string): number | undefined {
  const v = series(run, metric);
  return v.length ? v.reduce((a, b) => a + b, 0) : undefined;
}

/** Judge calls during training that needed the API (calls minus cache hits). */
function apiCalls(run: Run): number | undefined {
  const calls = sum(run, JUDGE_COUNTERS.calls);
  return calls === undefined ? undefined : calls - (sum(run, JUDGE_COUNTERS.cacheHits) ?? 0);
}

/** A per-run measure's name (a row of {@linkcode MEASURES}). */
export type MeasureName =
  | "strictGain"
  | "lenientGain"
  | "judgeGain"
  | "overlapGain"
  | "largestDrop"
  | "finalStrict"
  | "finalSpread"
  | "lengthLogRatio"
  | "trainFallbackShare"
  | "trainFailedAttempts"
  | "trainRetries";

/** The per-run measures, by name. */
export const MEASURES: Readonly<Record<MeasureName, RunMeasure>> = Object.freeze({
  /** Held-out strict accuracy, last evaluation minus step 0 (same run). */
  strictGain: lastMinusFirst(EVAL_METRICS.accuracy),
  /** Held-out lenient accuracy (last number), last evaluation minus step 0. */
  lenientGain: lastMinusFirst(EVAL_METRICS.accuracyLenient),
  /** Held-out judge score, last evaluation minus step 0. */
  judgeGain: lastMinusFirst(EVAL_METRICS.judgeScore),
  /** Held-out reference overlap (ROUGE-L F: padding and truncation both lower it), last minus step 0. */
  overlapGain: lastMinusFirst(EVAL_METRICS.referenceOverlap),
  /** Largest drop of held-out strict accuracy between two consecutive evaluations (needs ≥ 3 evaluations). */
  largestDrop: (run) => {
    const v = series(run, EVAL_METRICS.accuracy);
    if (v.length < 3) return undefined;
    return Math.max(0, ...v.slice(1).map((x, i) => v[i] - x));
  },
  /** Final held-out strict accuracy. */
  finalStrict: (run) => series(run, EVAL_METRICS.accuracy).at(-1),
  /**
   * Across-seed spread of the final held-out strict accuracy: this seed's distance from the median of its
   * arm's seeds (Brown–Forsythe; compared between arms, a larger mean is a larger spread).
   */
  finalSpread: (run, arm) => {
    const last = (r: Run) => series(r, EVAL_METRICS.accuracy).at(-1);
    const mine = last(run);
    const all = arm.map(last).filter((x): x is number => x !== undefined);
    return mine === undefined || all.length < 2 ? undefined : Math.abs(mine - median(all));
  },
  /** log(final / step-0 held-out reply length): below log(½) the outputs collapsed. */
  lengthLogRatio: (run) => {
    const v = series(run, EVAL_METRICS.meanLength);
    return v.length >= 2 && v[0] > 0 && v[v.length - 1] > 0 ? Math.log(v[v.length - 1] / v[0]) : undefined;
  },
  /** Share of the training judge calls that needed the API and were scored by the fallback instead. */
  trainFallbackShare: (run) => {
    const n = apiCalls(run), fb = sum(run, JUDGE_COUNTERS.fallbacks);
    if (n !== undefined && fb !== undefined && n > 0) return fb / n;
    const f = series(run, JUDGE_COUNTERS.fallbackFrac);
    return f.length ? mean(f) : undefined;
  },
  /** Failed API attempts (429, 5xx, timeouts, bad answers) per training judge call that needed the API. */
  trainFailedAttempts: (run) => {
    const n = apiCalls(run), e = sum(run, JUDGE_COUNTERS.errors);
    return n !== undefined && e !== undefined && n > 0 ? e / n : undefined;
  },
  /** Retries per training judge call that needed the API. */
  trainRetries: (run) => {
    const n = apiCalls(run), r = sum(run, JUDGE_COUNTERS.retries);
    return n !== undefined && r !== undefined && n > 0 ? r / n : undefined;
  },
});

/** A gate: when it trips for the pooled runs, the verdict is inconclusive with this reason. */
export type GateName = "judge_never_reached" | "eval_mostly_fallback" | "judge_fooled";

/** Why a gate trips on the runs of a verdict's arms, or undefined when it does not. */
export function gateReason(
  gate: GateName,
  runs: readonly Run[],
  options: { masterKeyThreshold?: number } = {},
): string | undefined {
  if (!runs.length) return undefined;
  if (gate === "judge_never_reached") {
    const reached = runs.some((r) =>
      (sum(r, JUDGE_COUNTERS.ok) ?? 0) > 0 ||
      ((sum(r, JUDGE_COUNTERS.ok) === undefined) && (sum(r, JUDGE_COUNTERS.errors) ?? 0) > 0)
    );
    const logged = runs.some((r) => sum(r, JUDGE_COUNTERS.calls) !== undefined);
    if (!logged) return "no judge counters were logged during training";
    return reached
      ? undefined
      : "the Gemini judge was never reached during training (no key, or the key was " +
        "refused): every score came from the local fallback, so nothing is known about the API under load";
  }
  if (gate === "eval_mostly_fallback") {
    const f = runs.flatMap((r) => series(r, EVAL_METRICS.judgeFallbackFrac));
    if (f.length && mean(f) > EVAL_FALLBACK_GATE) {
      return `${(100 * mean(f)).toFixed(0)} % of the held-out judge scores came from the local fallback, ` +
        "not Gemini (no key, or the API failed)";
    }
    return undefined;
  }
  const t = options.masterKeyThreshold ?? 2;
  const mk = runs.flatMap((r) => series(r, JUDGE_COUNTERS.masterKeyScore));
  if (mk.length && Math.max(...mk) > t) {
    return `the judge paid answers that say nothing up to ${
      Math.max(...mk).toFixed(1)
    }/10 in its master-key audit (above ${t}/10), so its scores cannot tell a hacking policy from a fooled judge`;
  }
  return undefined;
}
