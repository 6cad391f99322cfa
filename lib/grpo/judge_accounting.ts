/**
 * Judge accounting: the counters of the judge behind judge rewards, zeroed before each step's rollouts
 * and read after them, and the names of the metrics they are logged under (`judge/calls`, …; summed, not
 * averaged, over `logging_steps`). The judge itself lives in lib/judge; the trainer sees it only through
 * {@linkcode JudgeCounters}. The held-out evaluation logs the same counters per evaluation
 * (`eval/judge_calls`, …) and for the master-key audit (`judge/master_key_calls`, …) with
 * {@linkcode judgeCounterMetrics}.
 * @module
 */
import { EVAL_JUDGE_PREFIX } from "../util/mod.ts";

/** Judge counters for one step (lib/judge `JudgeStats`). */
export interface JudgeStepStats {
  /** Items scored. */
  calls: number;
  /** Failed attempts. */
  errors: number;
  /** Items scored by the fallback. */
  fallbacks: number;
  /** Items scored by a fresh judge answer (so `calls = ok + fallbacks + cacheHits`). */
  ok?: number;
  /** Items served from the cache. */
  cacheHits?: number;
  /** Attempts repeated after a retryable failure. */
  retries?: number;
  /** Mean ms per judged item. */
  latencyMs: number;
}

/** A judge whose counters the trainer logs per step (lib/judge's `Judge`). */
export interface JudgeCounters {
  /** Counters since the last reset. */
  stats(): JudgeStepStats;
  /** Zeroes the counters. */
  resetStats(): void;
}

/** Prefix of the per-step judge metrics (`judge/calls`, `judge/fallback_frac`, …). */
export const JUDGE_STEP_PREFIX = "judge/";

/** Prefix of the judge's master-key audit metrics (`judge/master_key_score`, `judge/master_key_calls`, …). */
export const JUDGE_MASTER_KEY_PREFIX = "judge/master_key_";

/** The judge's call counters: metric suffix and `JudgeStepStats` field, in logged order. */
const COUNTERS = [
  ["calls", "calls"],
  ["ok", "ok"],
  ["fallbacks", "fallbacks"],
  ["cache_hits", "cacheHits"],
  ["errors", "errors"],
  ["retries", "retries"],
] as const;

/** `stats` as `<prefix>calls`, `<prefix>ok`, … (a counter the judge does not keep is left out). */
export function judgeCounterMetrics(
  stats: JudgeStepStats,
  options: { prefix: string },
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [suffix, field] of COUNTERS) {
    const v = stats[field];
    if (v !== undefined) out[`${options.prefix}${suffix}`] = v;
  }
  return out;
}

/** One step's judge metrics: the counters as `judge/*`, `judge/fallback_frac` and `judge/latency_ms`. */
export function judgeStepMetrics(stats: JudgeStepStats): Record<string, number> {
  return {
    ...judgeCounterMetrics(stats, { prefix: JUDGE_STEP_PREFIX }),
    [`${JUDGE_STEP_PREFIX}fallback_frac`]: stats.calls ? stats.fallbacks / stats.calls : 0,
    [`${JUDGE_STEP_PREFIX}latency_ms`]: stats.latencyMs,
  };
}

/** The per-step judge counters, summed (not averaged) when rows are averaged over `logging_steps`. */
export const JUDGE_SUMMED_METRICS: readonly string[] = COUNTERS.map(([s]) => `${JUDGE_STEP_PREFIX}${s}`);

/**
 * Whether `name` is a call counter of an evaluation's judge (`eval/judge_calls`, …) or of the master-key
 * audit (`judge/master_key_calls`, …): logged, but left off the progress lines.
 */
export function isEvalJudgeCounter(name: string): boolean {
  return COUNTERS.some(([s]) =>
    name === `${EVAL_JUDGE_PREFIX}${s}` || name === `${JUDGE_MASTER_KEY_PREFIX}${s}`
  );
}

/** Reads an optional judge once per step: `reset()` before the step's rollouts, `read()` after them. */
export interface JudgeStepReader {
  /** Zeroes the judge's counters (nothing without a judge). */
  reset(): void;
  /** The counters since `reset()` (null without a judge). */
  read(): JudgeStepStats | null;
}

/** The {@linkcode JudgeStepReader} of `judge` (a no-op one when there is none). */
export function judgeStepReader(judge?: JudgeCounters): JudgeStepReader {
  return {
    reset: () => judge?.resetStats(),
    read: () => (judge ? judge.stats() : null),
  };
}
