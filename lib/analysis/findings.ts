/**
 * Plain-language findings computed from the statistics: every number in a sentence comes from
 * {@linkcode ExperimentStats} or {@linkcode Comparison}; nothing is written that the data did not produce.
 * @module
 */
import { type CI, distinguishable } from "./bootstrap.ts";
import { type PairedComparison, pairedSentence } from "./paired.ts";
import type { Comparison, ExperimentStats } from "./stats.ts";
import { groupLabel, heldOutUnit, type Source } from "./table.ts";

/** Formats a number with about three significant digits (fixed decimals for large values). */
export function formatNumber(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 10 ** (digits - 1)) return x.toFixed(0);
  if (a >= 1e-3) return String(Number(x.toPrecision(digits)));
  return x.toExponential(digits - 1);
}

function signed(x: number, f: (x: number) => string): string {
  return `${x > 0 ? "+" : x < 0 ? "−" : ""}${f(Math.abs(x))}`;
}

function ciText(ci: CI, f: (x: number) => string): string {
  if (ci.n < 2) return "one seed, so no confidence interval across seeds";
  return `95% CI ${f(ci.lo)} to ${f(ci.hi)}, ${ci.n} seeds`;
}

/** The words for a change whose interval includes zero (or that has no interval). */
export const NOT_DISTINGUISHABLE = "not distinguishable";

function noChange(ci: CI): string {
  return ci.n >= 2 && distinguishable(ci) ? "" : `; ${NOT_DISTINGUISHABLE} from no change`;
}

function heldOutFormat(s: ExperimentStats): { f: (x: number) => string; unit: string; name: string } {
  const maxAbs = Math.max(Math.abs(s.heldOutBefore?.hi ?? 0), Math.abs(s.heldOutAfter?.hi ?? 0));
  const u = heldOutUnit(s.heldOutMetric ?? "", maxAbs);
  const f = (x: number) => (u.scale === 100 ? (x * 100).toFixed(1) : formatNumber(x));
  return { f, unit: u.unit, name: u.name };
}

/** One sentence on the held-out change of an experiment, or undefined without two evaluations. */
export function heldOutSentence(s: ExperimentStats): string | undefined {
  const d = s.heldOutDelta;
  if (!d || !s.heldOutBefore || !s.heldOutAfter) return undefined;
  const { f, unit, name } = heldOutFormat(s);
  const verb = d.estimate > 0 ? "raised" : d.estimate < 0 ? "lowered" : "did not change";
  const by = d.estimate !== 0 ? ` by ${f(Math.abs(d.estimate))}${unit}` : "";
  const p = unit === " points" ? "%" : "";
  return `${groupLabel(s)} ${verb} held-out ${name}${by} (${ciText(d, f)}), from ${
    f(s.heldOutBefore.estimate)
  }${p} ` +
    `to ${f(s.heldOutAfter.estimate)}${p}${noChange(d)}.`;
}

/** One sentence on the training-reward change of an experiment. */
export function rewardSentence(s: ExperimentStats): string {
  const f = (x: number) => formatNumber(x);
  const w = s.window;
  const d = s.rewardDelta;
  return `${groupLabel(s)}: mean training reward went from ${
    f(s.rewardStart.estimate)
  } (first ${w} steps) to ` +
    `${f(s.rewardEnd.estimate)} (last ${w} steps), a change of ${signed(d.estimate, f)} (${
      ciText(d, (x) => signed(x, f))
    }${noChange(d)}); ` +
    `least-squares slope ${signed(s.slope.estimate, f)} per step.`;
}

/** One sentence on a comparison between two experiments. */
export function comparisonSentence(c: Comparison, stats: readonly ExperimentStats[] = []): string {
  const a = groupLabel({ source: c.source, experiment: c.a }),
    b = groupLabel({ source: c.source, experiment: c.b });
  let f = (x: number) => formatNumber(x), unit = "", what: string;
  if (c.measure.startsWith("heldOut")) {
    const s = stats.find((x) => x.source === c.source && x.experiment === c.a);
    const h = s ? heldOutFormat(s) : { f, unit: "", name: c.metric ?? "held-out metric" };
    [f, unit] = [h.f, h.unit];
    what = c.measure === "heldOutDelta" ? `held-out ${h.name} improvement` : `final held-out ${h.name}`;
  } else {
    what =
      { rewardDelta: "training-reward change", rewardEnd: "final training reward", slope: "reward slope" }[
        c.measure as "rewardDelta" | "rewardEnd" | "slope"
      ];
  }
  const d = c.diff;
  const base = `${a} minus ${b} on ${what}: ${signed(d.estimate, f)}${unit}`;
  if (Math.min(c.nA, c.nB) < 2) {
    return `${base} (fewer than two seeds on one side, so no confidence interval): ${NOT_DISTINGUISHABLE}.`;
  }
  const ci = `95% CI ${signed(d.lo, f)} to ${signed(d.hi, f)}`;
  if (d.lo > 0) return `${base} (${ci}): ${a} is ahead.`;
  if (d.hi < 0) return `${base} (${ci}): ${b} is ahead.`;
  return `${base} (${ci}): ${NOT_DISTINGUISHABLE} (the interval includes zero).`;
}

/** Options of {@linkcode findingSentences}. */
export interface FindingOptions {
  /** Paired held-out comparisons (against the base model and between experiments) from per-example logs. */
  paired?: readonly PairedComparison[];
  /** A caveat per group, keyed by {@linkcode caveatKey} (e.g. the judge fallback), added to every sentence about it. */
  caveats?: ReadonlyMap<string, string>;
}

/** Key of a group in {@linkcode FindingOptions.caveats}: `ours/math_hard`. */
export function caveatKey(source: Source, experiment: string): string {
  return `${source}/${experiment}`;
}

function withCaveats(sentence: string, notes: (string | undefined)[]): string {
  const ns = [...new Set(notes.filter((n): n is string => !!n))];
  return ns.length ? `${sentence.replace(/\.$/, "")} (caveat: ${ns.join("; ")}).` : sentence;
}

/** All findings: paired held-out comparisons, held-out changes, reward changes, then comparisons. */
export function findingSentences(
  stats: readonly ExperimentStats[],
  comparisons: readonly Comparison[] = [],
  opts: FindingOptions = {},
): string[] {
  const note = (source: Source, e: string) => opts.caveats?.get(caveatKey(source, e));
  const out: string[] = [];
  for (const p of opts.paired ?? []) {
    // A paired sentence whose scores came from the fallback already says so, with its own count.
    const notes = p.fallback.count
      ? []
      : [note(p.source, p.a), p.b === "base model" ? undefined : note(p.source, p.b)];
    out.push(withCaveats(pairedSentence(p), notes));
  }
  for (const s of stats) {
    const h = heldOutSentence(s);
    if (h) out.push(withCaveats(h, [note(s.source, s.experiment)]));
  }
  for (const s of stats) out.push(withCaveats(rewardSentence(s), [note(s.source, s.experiment)]));
  for (const c of comparisons) {
    out.push(withCaveats(comparisonSentence(c, stats), [note(c.source, c.a), note(c.source, c.b)]));
  }
  return out;
}
