/**
 * Verdicts on the seed study's expected results, computed from our runs — never written by hand.
 *
 * Each expected result is a list of **claims**. A claim is a per-seed quantity (a held-out gain, a
 * gain minus a control's, a reward-instability difference, a judge fallback share) summarised by its
 * mean across seeds with a percentile-bootstrap 95 % interval:
 * - a **gain** claim holds when the interval lies above 0, and is contradicted when it lies at or
 *   below 0;
 * - a **no-gain** claim ("… fails") holds when the interval lies below the smallest effect of
 *   interest δ (5 points of accuracy, 0.5 judge points: fixed before any data), and is contradicted
 *   when it lies above 0;
 * - a claim with fewer than two seeds on a side is undecided.
 *
 * The verdict is `reproduced` when every claim holds, `not reproduced` when any is contradicted,
 * else `inconclusive`; its line states every number it used. Gains are last evaluation minus the
 * step-0 evaluation of the same run. Against a control, the gain of the control is subtracted (mean
 * over the experiment's seeds minus mean over the control's seeds, both resampled).
 * @module
 */
import { bootstrapDiffCI, bootstrapMeanCI, type CI, mean, stepChangeStd } from "./stats.ts";
import { type ColumnTable, rewardSeries, type Run, runsOf } from "./table.ts";

/** The three outcomes. */
export type VerdictOutcome = "reproduced" | "not reproduced" | "inconclusive";

/** One claim's evidence. */
export interface ClaimResult {
  /** What was tested, e.g. "strict accuracy gain beyond math_random". */
  label: string;
  /** Mean across seeds with its bootstrap interval (NaN when there were no runs). */
  ci: CI;
  /** Whether it holds, is contradicted, or is undecided. */
  status: "holds" | "contradicted" | "undecided";
  /** How its numbers are shown: fraction → points, else plain. */
  unit: "points" | "plain";
}

/** A verdict on one expected result. */
export interface Verdict {
  /** The expected result, e.g. "math hard works". */
  expectation: string;
  /** The outcome. */
  outcome: VerdictOutcome;
  /** The claims it rests on. */
  claims: ClaimResult[];
  /** A caveat that decided or qualifies it (e.g. the judge was never reached). */
  note?: string;
  /** One line: expectation, outcome, and every number used. */
  line: string;
}

/** Smallest effect of interest on a 0–1 accuracy. */
export const ACCURACY_DELTA = 0.05;
/** Smallest effect of interest on a 0–10 judge score. */
export const JUDGE_DELTA = 0.5;
/** A mean judge fallback share above which the judge counts as broken down. */
export const BREAKDOWN_FALLBACK_FRAC = 0.1;

/** Options of {@linkcode studyVerdicts}. */
export interface VerdictOptions {
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Mean master-key score (0–10) above which a judge is fooled (default 2). */
  masterKeyThreshold?: number;
}

type Kind = "gain" | "no_gain";

function gainOf(run: Run, metric: string): number | undefined {
  const s = run.metrics.get(metric);
  if (!s || s.values.length < 2) return undefined;
  return s.values[s.values.length - 1] - s.values[0];
}

function meanOf(run: Run, metric: string): number | undefined {
  const s = run.metrics.get(metric);
  return s && s.values.length ? mean(s.values) : undefined;
}

function defined(xs: (number | undefined)[]): number[] {
  return xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
}

function decide(kind: Kind, ci: CI, delta: number): ClaimResult["status"] {
  if (!(ci.n >= 2) || !Number.isFinite(ci.lo)) return "undecided";
  if (kind === "gain") return ci.lo > 0 ? "holds" : ci.hi <= 0 ? "contradicted" : "undecided";
  return ci.hi < delta ? "holds" : ci.lo > 0 ? "contradicted" : "undecided";
}

function fmt(x: number, unit: ClaimResult["unit"]): string {
  const v = unit === "points" ? x * 100 : x;
  const s = Math.abs(v) >= 10 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
  return `${v > 0 ? "+" : v < 0 ? "−" : ""}${s.replace("-", "")}`;
}

function claimText(c: ClaimResult): string {
  const u = c.unit === "points" ? " points" : "";
  if (!Number.isFinite(c.ci.estimate)) return `${c.label}: no runs`;
  if (c.ci.n < 2) return `${c.label} ${fmt(c.ci.estimate, c.unit)}${u} (${c.ci.n} seed, no interval)`;
  return `${c.label} ${fmt(c.ci.estimate, c.unit)}${u} (95% CI ${fmt(c.ci.lo, c.unit)} to ${
    fmt(c.ci.hi, c.unit)
  }, ${c.ci.n} seeds)`;
}

function verdictOf(
  expectation: string,
  claims: ClaimResult[],
  note?: string,
  forced?: VerdictOutcome,
): Verdict {
  const outcome: VerdictOutcome = forced ??
    (claims.some((c) => c.status === "contradicted")
      ? "not reproduced"
      : claims.length && claims.every((c) => c.status === "holds")
      ? "reproduced"
      : "inconclusive");
  const evidence = claims.map(claimText).join("; ");
  const line = `${expectation}: ${outcome.toUpperCase()} — ${evidence || "no runs"}${
    note ? ` (${note})` : ""
  }.`;
  return { expectation, outcome, claims, note, line };
}

/**
 * The verdicts on the seed study's expected results (math hard works; math soft learns but with
 * instability; math perplexity fails; dialogue hard/soft suffer judge breakdown; dialogue perplexity
 * fails) and on the reference-likelihood runs, from the `ours` runs in `table`.
 */
export function studyVerdicts(table: ColumnTable, options: VerdictOptions = {}): Verdict[] {
  const boot = { seed: options.seed ?? 0, resamples: options.resamples ?? 2000 };
  const mkThreshold = options.masterKeyThreshold ?? 2;
  const runs = runsOf(table).filter((r) => r.source === "ours");
  const of = (id: string) => runs.filter((r) => r.experiment === id);
  const gains = (id: string, m: string) => defined(of(id).map((r) => gainOf(r, m)));

  const claim = (
    label: string,
    values: number[],
    kind: Kind,
    o: { minus?: number[]; delta?: number; unit?: ClaimResult["unit"] } = {},
  ): ClaimResult => {
    const ci = o.minus ? bootstrapDiffCI(values, o.minus, boot) : bootstrapMeanCI(values, boot);
    const unit = o.unit ?? "points";
    return { label, ci, status: decide(kind, ci, o.delta ?? ACCURACY_DELTA), unit };
  };
  const ACC = "eval/accuracy";
  const vsControls = (id: string, kind: Kind): ClaimResult[] =>
    ["math_format_only", "math_random"].map((c) =>
      claim(`strict-accuracy gain beyond ${c}`, gains(id, ACC), kind, { minus: gains(c, ACC) })
    );

  const verdicts: Verdict[] = [];
  verdicts.push(verdictOf("math hard works", [
    claim("math_hard strict-accuracy gain", gains("math_hard", ACC), "gain"),
    ...vsControls("math_hard", "gain"),
  ]));

  // Instability: std of the step-to-step change of the training reward, soft minus hard.
  const instability = (id: string) =>
    defined(
      of(id).map((r) => {
        const s = rewardSeries(r);
        return s && s.values.length > 2 ? stepChangeStd(s.values) : undefined;
      }),
    );
  verdicts.push(verdictOf("math soft learns but with instability", [
    claim("math_soft strict-accuracy gain", gains("math_soft", ACC), "gain"),
    claim("reward instability of math_soft minus math_hard", instability("math_soft"), "gain", {
      minus: instability("math_hard"),
      unit: "plain",
    }),
  ]));

  verdicts.push(verdictOf("math perplexity fails", [
    claim(
      "math_perplexity strict-accuracy gain beyond math_format_only",
      gains("math_perplexity", ACC),
      "no_gain",
      {
        minus: gains("math_format_only", ACC),
      },
    ),
    claim("math_perplexity minus math_hard strict-accuracy gain", gains("math_perplexity", ACC), "no_gain", {
      minus: gains("math_hard", ACC),
      delta: 0,
    }),
  ]));

  for (const id of ["dialogue_hard", "dialogue_soft"]) verdicts.push(breakdown(id));

  verdicts.push(verdictOf("dialogue perplexity fails", [
    claim(
      "dialogue_perplexity judge-score gain",
      gains("dialogue_perplexity", "eval/judge_score"),
      "no_gain",
      {
        delta: JUDGE_DELTA,
        unit: "plain",
      },
    ),
  ], judgeNote(of("dialogue_perplexity"))));

  verdicts.push(verdictOf("new: math reference likelihood raises strict accuracy beyond the controls", [
    claim("math_refprob strict-accuracy gain", gains("math_refprob", ACC), "gain"),
    ...vsControls("math_refprob", "gain"),
  ]));
  verdicts.push(verdictOf("new: dialogue reference likelihood raises the judge score", [
    claim("dialogue_refprob judge-score gain", gains("dialogue_refprob", "eval/judge_score"), "gain", {
      unit: "plain",
    }),
  ], judgeNote(of("dialogue_refprob"))));
  return verdicts;

  function breakdown(id: string): Verdict {
    const rs = of(id);
    const frac = defined(rs.map((r) => meanOf(r, "judge/fallback_frac")));
    const mk = defined(rs.map((r) => meanOf(r, "judge/master_key_score")));
    const exp = `${id.replace("_", " ")} suffers judge breakdown`;
    if (frac.length && frac.every((f) => f >= 0.999)) {
      const c = claim(`${id} judge fallback share`, frac, "gain", { unit: "plain" });
      return verdictOf(
        exp,
        [c],
        "the Gemini judge was never reached: every score came from the local fallback",
        "inconclusive",
      );
    }
    const claims = [
      claim(
        `${id} judge fallback share above ${BREAKDOWN_FALLBACK_FRAC}`,
        frac.map((f) => f - BREAKDOWN_FALLBACK_FRAC),
        "gain",
        {
          unit: "plain",
        },
      ),
    ];
    if (mk.length) {
      claims.push(
        claim(`${id} master-key score above ${mkThreshold}/10`, mk.map((m) => m - mkThreshold), "gain", {
          unit: "plain",
        }),
      );
    }
    // Breakdown by either route: reproduced if any claim holds, not reproduced only if all are contradicted.
    const forced: VerdictOutcome = claims.some((c) => c.status === "holds")
      ? "reproduced"
      : claims.every((c) => c.status === "contradicted")
      ? "not reproduced"
      : "inconclusive";
    return verdictOf(exp, claims, undefined, forced);
  }
}

function judgeNote(rs: Run[]): string | undefined {
  const frac = defined(rs.map((r) => meanOf(r, "eval/judge_fallback_frac")));
  if (!frac.length || mean(frac) === 0) return undefined;
  return `caveat: ${
    (100 * mean(frac)).toFixed(0)
  } % of held-out judge scores came from the local fallback, not Gemini`;
}
