/**
 * The verdicts' error rate and power, measured on simulated studies: each study is a set of simulated
 * runs (the step records our trainer writes, from fixtures.ts) whose held-out gains are drawn with a
 * known truth; the share of studies whose verdict comes out "reproduced" is counted. Seeded, so the
 * counts are the same on every run of the suite.
 */
import { Rng } from "../util/mod.ts";
import { EVAL_METRICS } from "../util/mod.ts";
import { assert } from "../util/assert.ts";
import { fakeMetrics, rowsOf } from "./fixtures.ts";
import { type MetricRow, tableFromRows } from "./table.ts";
import { studyVerdicts } from "./verdicts.ts";

/** Runs of one arm: per seed a held-out gain drawn from N(mean, sd), evaluated at steps 0, 2 and 4. */
function arm(rng: Rng, experiment: string, seeds: number, gainMean: number, sd: number): MetricRow[] {
  const rows: MetricRow[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const base = 0.105, g = gainMean + sd * rng.normal();
    const at = (s: number) => base + (g * s) / 4;
    const records = fakeMetrics({
      experiment,
      seed,
      steps: 4,
      evalEvery: 2,
      evalValue: at,
      evalExtra: { [EVAL_METRICS.accuracyLenient]: (s) => 0.65 + (0.01 * s) / 4 },
    });
    rows.push(...rowsOf(records, { experiment: experiment, seed: seed }));
  }
  return rows;
}

/** Share of `studies` simulated studies in which `expectation` comes out "reproduced". */
function reproducedShare(
  studies: number,
  seed: number,
  expectation: string,
  make: (rng: Rng) => MetricRow[],
): number {
  const rng = new Rng(seed);
  let hits = 0;
  for (let i = 0; i < studies; i++) {
    const v = studyVerdicts(tableFromRows(make(rng))).find((x) => x.expectation === expectation)!;
    if (v.outcome === "reproduced") hits++;
  }
  return hits / studies;
}

const SD = 0.04; // seed-to-seed sd of a gain: 4 points

Deno.test("error rate: with no true difference from math_format_only, 'math hard works' is reproduced in ≤ 5 % of studies (2, 3 and 5 seeds)", () => {
  for (const [seeds, seed] of [[2, 10], [3, 11], [5, 12]]) {
    const rate = reproducedShare(1000, seed, "math hard works", (rng) => [
      ...arm(rng, "math_hard", seeds, 0.55, SD),
      ...arm(rng, "math_format_only", seeds, 0.55, SD),
      ...arm(rng, "math_random", seeds, 0.02, SD),
    ]);
    assert(rate <= 0.05, `${seeds} seeds: reproduced in ${rate} of studies`);
  }
});

Deno.test("power: with a true 15-point gain beyond math_format_only (sd 4) at 5 seeds, 'math hard works' is reproduced in ≥ 80 % of studies", () => {
  const rate = reproducedShare(1000, 13, "math hard works", (rng) => [
    ...arm(rng, "math_hard", 5, 0.70, SD),
    ...arm(rng, "math_format_only", 5, 0.55, SD),
    ...arm(rng, "math_random", 5, 0.02, SD),
  ]);
  assert(rate >= 0.8, `reproduced in only ${rate} of studies`);
});

Deno.test("error rate of a 'fails' claim: a perplexity arm exactly δ = 5 points beyond math_format_only is called failed in ≤ 5 % of studies (3 seeds)", () => {
  const rate = reproducedShare(1000, 14, "math perplexity fails", (rng) => [
    ...arm(rng, "math_hard", 3, 0.9, SD),
    ...arm(rng, "math_format_only", 3, 0.3, SD),
    ...arm(rng, "math_perplexity", 3, 0.35, SD),
  ]);
  assert(rate <= 0.05, `reproduced in ${rate} of studies`);
});
