/**
 * Plain-language findings computed from the statistics: every number in a sentence comes from
 * {@linkcode ExperimentStats} or {@linkcode Comparison}; nothing is written that the data did not produce.
 * @module
 */
import type { CI, Comparison, ExperimentStats } from "./stats.ts";
import { groupLabel, heldOutUnit } from "./table.ts";

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
  if (ci.n < 2) return "one seed, so no confidence interval";
  return `95% CI ${f(ci.lo)} to ${f(ci.hi)}, ${ci.n} seeds`;
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
    `to ${f(s.heldOutAfter.estimate)}${p}.`;
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
    }); ` +
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
    return `${base} (fewer than two seeds on one side, so no confidence interval).`;
  }
  const ci = `95% CI ${signed(d.lo, f)} to ${signed(d.hi, f)}`;
  if (d.lo > 0) return `${base} (${ci}): ${a} is ahead.`;
  if (d.hi < 0) return `${base} (${ci}): ${b} is ahead.`;
  return `${base} (${ci}); the interval includes zero, so the data do not separate them.`;
}

/** All findings: held-out changes, reward changes, then comparisons. */
export function findingSentences(
  stats: readonly ExperimentStats[],
  comparisons: readonly Comparison[] = [],
): string[] {
  return [
    ...stats.map(heldOutSentence).filter((s): s is string => !!s),
    ...stats.map(rewardSentence),
    ...comparisons.map((c) => comparisonSentence(c, stats)),
  ];
}
