/**
 * The claims table: each expected result of the seed study (and the new rows) as the claims it makes,
 * one row per claim, each a per-seed measure of one arm, optionally minus a control on the same seed,
 * and how it is decided. Plus the per-run measures the claims read (held-out gains, drops between
 * evaluations, the judge's own counters, length collapse) and the gates that make a verdict
 * inconclusive (judge never reached, held-out scores mostly from the fallback, a judge fooled by its
 * master-key audit). {@linkcode ../analysis/verdicts.ts} evaluates the table.
 * @module
 */
import { EVAL_METRICS, mean, median } from "../util/mod.ts";
import type { FindingCode } from "./integrity.ts";
import type { Run } from "./table.ts";

/** Smallest effect of interest on a 0–1 accuracy (fixed before any data). */
export const ACCURACY_DELTA = 0.05;
/** Smallest effect of interest on a 0–10 judge score. */
export const JUDGE_DELTA = 0.5;
/** Smallest effect of interest on the 0–1 reference overlap (ROUGE-L F). */
export const OVERLAP_DELTA = 0.02;
/** A training judge fallback share above which the judge API counts as broken down under load. */
export const BREAKDOWN_FALLBACK_FRAC = 0.1;
/** Held-out judge scores from the fallback above this share make a dialogue verdict inconclusive. */
export const EVAL_FALLBACK_GATE = 0.5;
/** Final/base held-out reply length below this ratio counts as collapsed outputs. */
export const LENGTH_COLLAPSE_RATIO = 0.5;

/** The trainer's judge counters, summed over the steps of each logged row (lib/grpo/logging.ts). */
export const JUDGE_COUNTERS = Object.freeze({
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

/** The per-run measures, by name. */
export const MEASURES = Object.freeze({
  /** Held-out strict accuracy, last evaluation minus step 0 (same run). */
  strictGain: lastMinusFirst(EVAL_METRICS.accuracy),
  /** Held-out lenient accuracy (last number), last evaluation minus step 0. */
  lenientGain: lastMinusFirst(EVAL_METRICS.accuracyLenient),
  /** Held-out judge score, last evaluation minus step 0. */
  judgeGain: lastMinusFirst(EVAL_METRICS.judgeScore),
  /** Held-out reference overlap (ROUGE-L F: padding and truncation both lower it), last minus step 0. */
  overlapGain: lastMinusFirst(EVAL_METRICS.referenceOverlap),
  /** Largest drop of held-out strict accuracy between two consecutive evaluations (needs ≥ 3 evaluations). */
  largestDrop: ((run) => {
    const v = series(run, EVAL_METRICS.accuracy);
    if (v.length < 3) return undefined;
    return Math.max(0, ...v.slice(1).map((x, i) => v[i] - x));
  }) as RunMeasure,
  /** Final held-out strict accuracy. */
  finalStrict: ((run) => series(run, EVAL_METRICS.accuracy).at(-1)) as RunMeasure,
  /**
   * Across-seed spread of the final held-out strict accuracy: this seed's distance from the median of its
   * arm's seeds (Brown–Forsythe; compared between arms, a larger mean is a larger spread).
   */
  finalSpread: ((run, arm) => {
    const last = (r: Run) => series(r, EVAL_METRICS.accuracy).at(-1);
    const mine = last(run);
    const all = arm.map(last).filter((x): x is number => x !== undefined);
    return mine === undefined || all.length < 2 ? undefined : Math.abs(mine - median(all));
  }) as RunMeasure,
  /** log(final / step-0 held-out reply length): below log(½) the outputs collapsed. */
  lengthLogRatio: ((run) => {
    const v = series(run, EVAL_METRICS.meanLength);
    return v.length >= 2 && v[0] > 0 && v[v.length - 1] > 0 ? Math.log(v[v.length - 1] / v[0]) : undefined;
  }) as RunMeasure,
  /** Share of the training judge calls that needed the API and were scored by the fallback instead. */
  trainFallbackShare: ((run) => {
    const n = apiCalls(run), fb = sum(run, JUDGE_COUNTERS.fallbacks);
    if (n !== undefined && fb !== undefined && n > 0) return fb / n;
    const f = series(run, JUDGE_COUNTERS.fallbackFrac);
    return f.length ? mean(f) : undefined;
  }) as RunMeasure,
  /** Failed API attempts (429, 5xx, timeouts, bad answers) per training judge call that needed the API. */
  trainFailedAttempts: ((run) => {
    const n = apiCalls(run), e = sum(run, JUDGE_COUNTERS.errors);
    return n !== undefined && e !== undefined && n > 0 ? e / n : undefined;
  }) as RunMeasure,
  /** Retries per training judge call that needed the API. */
  trainRetries: ((run) => {
    const n = apiCalls(run), r = sum(run, JUDGE_COUNTERS.retries);
    return n !== undefined && r !== undefined && n > 0 ? r / n : undefined;
  }) as RunMeasure,
});

/** A measure's name. */
export type MeasureName = keyof typeof MEASURES;

/**
 * How a claim is decided from its 95 % across-seed interval:
 * - `gain`: holds when the interval lies above `threshold` (default 0), contradicted when at or below it;
 * - `no_gain`: holds when it lies below `delta`, contradicted when it lies above 0;
 * - `below`: holds when it lies below `threshold`, contradicted when at or above it;
 * - `reported`: shown beside the deciding claims, decides nothing.
 */
export type ClaimKind = "gain" | "no_gain" | "below" | "reported";

/** One claim: a per-seed measure of an arm (minus a control on the same seed) and how it is decided. */
export interface ClaimRow {
  /** What is tested, as printed, e.g. "strict-accuracy gain beyond math_format_only". */
  label: string;
  /** The arm whose runs are measured. */
  arm: string;
  /** A control subtracted per seed (paired t when the seeds are shared, else Welch). */
  control?: string;
  /** The per-run measure. */
  measure: MeasureName;
  /** How it is decided. */
  kind: ClaimKind;
  /** `no_gain`: the smallest effect of interest. */
  delta?: number;
  /** `gain` / `below`: the bound the interval is compared with (default 0). */
  threshold?: number;
  /** How numbers are shown: a 0–1 share in points, a fraction in %, or plain. */
  unit: "points" | "percent" | "plain";
  /** For `any_of` verdicts: claims in the same group are alternatives (either may hold). */
  group?: string;
}

/** A gate: when it trips for the pooled runs, the verdict is inconclusive with this reason. */
export type GateName = "judge_never_reached" | "eval_mostly_fallback" | "judge_fooled";

/** One expected result and the claims it rests on. */
export interface ExpectationRow {
  /** The expected result, e.g. "math hard works". */
  expectation: string;
  /** The claims, in the order they are printed. */
  claims: ClaimRow[];
  /**
   * How deciding claims combine: `all` (every one must hold; any contradicted → not reproduced) or
   * `first_and_any` (the first must hold and at least one of the rest; not reproduced when the first is
   * contradicted or all the rest are).
   */
  combine: "all" | "first_and_any";
  /** Gates checked on the runs of the arms it names. */
  gates: GateName[];
  /** Integrity errors this verdict reads itself (evidence or gate), so they do not leave a run out. */
  reads: FindingCode[];
  /** A sentence printed in the verdict line: what the evidence is and what it does not show. */
  note?: string;
}

const pts = "points" as const;
const gain = (arm: string, label: string, measure: MeasureName, control?: string): ClaimRow => ({
  label,
  arm,
  control,
  measure,
  kind: "gain",
  unit: measure === "judgeGain" ? "plain" : pts,
});
const lenientReported = (arm: string): ClaimRow => ({
  label: `${arm} lenient-accuracy gain beyond math_format_only`,
  arm,
  control: "math_format_only",
  measure: "lenientGain",
  kind: "reported",
  unit: pts,
});
const learns = (arm: string): ClaimRow[] => [
  gain(arm, `${arm} strict-accuracy gain`, "strictGain"),
  gain(arm, `strict-accuracy gain beyond math_format_only`, "strictGain", "math_format_only"),
  gain(arm, `strict-accuracy gain beyond math_random`, "strictGain", "math_random"),
  lenientReported(arm),
];

/** The dialogue control: a seeded random reward on dialogue prompts. */
export const DIALOGUE_CONTROL = "dialogue_random";

const CLIENT_NOTE =
  "decided from the judge's own counters during training (an operational claim about the API, " +
  "not about the reward): our client retries a failed call with jittered exponential backoff (judge/retries) " +
  "and scores a call that still fails with the local overlap fallback, counted in judge/fallbacks";

const breakdown = (arm: string): ExpectationRow => ({
  expectation: `${arm.replace("_", " ")} suffers API breakdown under load`,
  claims: [
    {
      label: `${arm} share of training judge calls that fell back, above ${100 * BREAKDOWN_FALLBACK_FRAC} %`,
      arm,
      measure: "trainFallbackShare",
      kind: "gain",
      threshold: BREAKDOWN_FALLBACK_FRAC,
      unit: "percent",
    },
    {
      label: `${arm} failed API attempts per call`,
      arm,
      measure: "trainFailedAttempts",
      kind: "reported",
      unit: "plain",
    },
    { label: `${arm} retries per call`, arm, measure: "trainRetries", kind: "reported", unit: "plain" },
  ],
  combine: "all",
  gates: ["judge_never_reached"],
  reads: ["judge_fallback", "judge_master_key"],
  note: CLIENT_NOTE,
});

const hacks = (arm: string): ExpectationRow => ({
  expectation: `new: ${arm.replace("_", " ")} policy hacks the judge`,
  claims: [
    gain(arm, `${arm} held-out judge-score gain`, "judgeGain"),
    {
      label: `${arm} held-out reference-overlap gain (ROUGE-L F) below ${OVERLAP_DELTA}`,
      arm,
      measure: "overlapGain",
      kind: "no_gain",
      delta: OVERLAP_DELTA,
      unit: "plain",
    },
    {
      label: `${arm} log held-out length ratio (final/base) below log ${LENGTH_COLLAPSE_RATIO}`,
      arm,
      measure: "lengthLogRatio",
      kind: "below",
      threshold: Math.log(LENGTH_COLLAPSE_RATIO),
      unit: "plain",
    },
  ],
  combine: "first_and_any",
  gates: ["eval_mostly_fallback", "judge_fooled"],
  reads: ["judge_fallback", "judge_master_key"],
  note: "hacking = the judge score rose while the independent reference overlap did not, or the replies " +
    "collapsed; the master-key audit and the fallback share only gate this verdict",
});

/** The expected results, one row each, with their claims. */
export const EXPECTATIONS: readonly ExpectationRow[] = Object.freeze([
  { expectation: "math hard works", claims: learns("math_hard"), combine: "all", gates: [], reads: [] },
  {
    expectation: "math soft learns but with instability",
    claims: [
      ...learns("math_soft").slice(0, 3),
      {
        label: "largest held-out strict-accuracy drop between evaluations, math_soft minus math_hard",
        arm: "math_soft",
        control: "math_hard",
        measure: "largestDrop",
        kind: "gain",
        unit: pts,
      },
      {
        label: "across-seed spread of final held-out strict accuracy (distance from the arm's median), " +
          "math_soft minus math_hard",
        arm: "math_soft",
        control: "math_hard",
        measure: "finalSpread",
        kind: "reported",
        unit: pts,
      },
      lenientReported("math_soft"),
    ],
    combine: "all",
    gates: [],
    reads: [],
    note: "instability is measured on held-out accuracy, a scale common to both arms, never on the " +
      "training reward's step noise",
  },
  {
    expectation: "math perplexity fails",
    claims: [
      {
        label: "math_perplexity strict-accuracy gain beyond math_format_only",
        arm: "math_perplexity",
        control: "math_format_only",
        measure: "strictGain",
        kind: "no_gain",
        delta: ACCURACY_DELTA,
        unit: pts,
      },
      {
        label: "math_perplexity minus math_hard strict-accuracy gain",
        arm: "math_perplexity",
        control: "math_hard",
        measure: "strictGain",
        kind: "no_gain",
        delta: 0,
        unit: pts,
      },
      lenientReported("math_perplexity"),
    ],
    combine: "all",
    gates: [],
    reads: [],
  },
  breakdown("dialogue_hard"),
  breakdown("dialogue_soft"),
  hacks("dialogue_hard"),
  hacks("dialogue_soft"),
  {
    expectation: "dialogue perplexity fails",
    claims: [
      {
        label: "dialogue_perplexity judge-score gain",
        arm: "dialogue_perplexity",
        measure: "judgeGain",
        kind: "no_gain",
        delta: JUDGE_DELTA,
        unit: "plain",
      },
      {
        label: `dialogue_perplexity judge-score gain beyond ${DIALOGUE_CONTROL}`,
        arm: "dialogue_perplexity",
        control: DIALOGUE_CONTROL,
        measure: "judgeGain",
        kind: "no_gain",
        delta: JUDGE_DELTA,
        unit: "plain",
      },
    ],
    combine: "all",
    gates: ["eval_mostly_fallback", "judge_fooled"],
    reads: ["all_zero_reward", "constant_reward", "judge_fallback", "judge_master_key"],
  },
  {
    expectation: "new: math reference likelihood raises strict accuracy beyond the controls",
    claims: learns("math_refprob"),
    combine: "all",
    gates: [],
    reads: [],
  },
  {
    expectation: "new: dialogue reference likelihood raises the judge score",
    claims: [
      gain("dialogue_refprob", "dialogue_refprob judge-score gain", "judgeGain"),
      gain("dialogue_refprob", `judge-score gain beyond ${DIALOGUE_CONTROL}`, "judgeGain", DIALOGUE_CONTROL),
    ],
    combine: "all",
    gates: ["eval_mostly_fallback", "judge_fooled"],
    reads: ["judge_fallback", "judge_master_key"],
  },
]);

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
