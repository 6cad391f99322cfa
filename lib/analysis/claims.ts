/**
 * The claims table: each expected result of the seed study (and the new rows) as the claims it makes,
 * one row per claim, each a per-seed measure of one arm (measures.ts), optionally minus a control on the
 * same seed, and how it is decided; with the gates that make a verdict inconclusive and the integrity
 * errors it reads itself. verdicts.ts evaluates the table.
 * @module
 */
import type { FindingCode } from "./integrity.ts";
import type { GateName, MeasureName } from "./measures.ts";

/** Smallest effect of interest on a 0–1 accuracy (fixed before any data). */
export const ACCURACY_DELTA = 0.05;
/** Smallest effect of interest on a 0–10 judge score. */
export const JUDGE_DELTA = 0.5;
/** Smallest effect of interest on the 0–1 reference overlap (ROUGE-L F). */
export const OVERLAP_DELTA = 0.02;
/** A training judge fallback share above which the judge API counts as broken down under load. */
export const BREAKDOWN_FALLBACK_FRAC = 0.1;
/** Final/base held-out reply length below this ratio counts as collapsed outputs. */
export const LENGTH_COLLAPSE_RATIO = 0.5;

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
