import { assert, assertEquals } from "../util/assert.ts";
import {
  caveatKey,
  comparisonSentence,
  findingSentences,
  formatNumber,
  heldOutSentence,
  rewardSentence,
} from "./findings.ts";
import type { CI, Comparison, ExperimentStats } from "./stats.ts";

const ci = (estimate: number, lo: number, hi: number, n = 3): CI => ({ estimate, lo, hi, n });

function stats(over: Partial<ExperimentStats> = {}): ExperimentStats {
  return {
    source: "ours",
    experiment: "math_hard",
    seeds: [0, 1, 2],
    window: 10,
    rewardStart: ci(0.5, 0.4, 0.6),
    rewardEnd: ci(1.25, 1.1, 1.4),
    rewardDelta: ci(0.75, 0.6, 0.9),
    slope: ci(0.0075, 0.006, 0.009),
    stability: ci(0.1, 0.08, 0.12),
    heldOutMetric: "eval/accuracy",
    heldOutBefore: ci(0.3, 0.28, 0.32),
    heldOutAfter: ci(0.425, 0.4, 0.45),
    heldOutDelta: ci(0.125, 0.081, 0.16),
    ...over,
  };
}

Deno.test("formatNumber: about three significant digits", () => {
  assertEquals(formatNumber(0.12345), "0.123");
  assertEquals(formatNumber(1234.5), "1235");
  assertEquals(formatNumber(-0.00012), "-1.20e-4");
  assertEquals(formatNumber(0), "0");
  assertEquals(formatNumber(NaN), "NaN");
});

Deno.test("heldOutSentence: the numbers of the statistics, accuracy in points", () => {
  assertEquals(
    heldOutSentence(stats()),
    "math_hard raised held-out accuracy by 12.5 points (95% CI 8.1 to 16.0, 3 seeds), from 30.0% to 42.5%.",
  );
  assertEquals(
    heldOutSentence(stats({ heldOutDelta: ci(-0.02, -0.02, -0.02, 1), seeds: [0] })),
    "math_hard lowered held-out accuracy by 2.0 points (one seed, so no confidence interval across seeds), from 30.0% to 42.5%; not distinguishable from no change.",
  );
  assertEquals(heldOutSentence(stats({ heldOutDelta: undefined })), undefined);
  const judge = stats({
    experiment: "dialogue_soft",
    heldOutMetric: "eval/judge_score",
    heldOutBefore: ci(5, 4, 6),
    heldOutAfter: ci(6.5, 6, 7),
    heldOutDelta: ci(1.5, 1, 2),
  });
  assertEquals(
    heldOutSentence(judge),
    "dialogue_soft raised held-out judge score by 1.5 (95% CI 1 to 2, 3 seeds), from 5 to 6.5.",
  );
});

Deno.test("rewardSentence and comparisonSentence", () => {
  assertEquals(
    rewardSentence(stats({ source: "trl" })),
    "math_hard (TRL log): mean training reward went from 0.5 (first 10 steps) to 1.25 (last 10 steps), a change of " +
      "+0.75 (95% CI +0.6 to +0.9, 3 seeds); least-squares slope +0.0075 per step.",
  );
  const c: Comparison = {
    source: "ours",
    a: "math_hard",
    b: "math_soft",
    measure: "heldOutDelta",
    metric: "eval/accuracy",
    diff: ci(0.05, 0.01, 0.09),
    nA: 3,
    nB: 3,
  };
  const s = [stats()];
  assertEquals(
    comparisonSentence(c, s),
    "math_hard minus math_soft on held-out accuracy improvement: +5.0 points (95% CI +1.0 to +9.0): math_hard is ahead.",
  );
  assertEquals(
    comparisonSentence({ ...c, diff: ci(-0.01, -0.05, 0.03) }, s),
    "math_hard minus math_soft on held-out accuracy improvement: −1.0 points (95% CI −5.0 to +3.0): not " +
      "distinguishable (the interval includes zero).",
  );
  assertEquals(
    comparisonSentence({ ...c, measure: "rewardEnd", metric: undefined, diff: ci(-0.3, -0.5, -0.1), nB: 1 }),
    "math_hard minus math_soft on final training reward: −0.3 (fewer than two seeds on one side, so no confidence interval): not distinguishable.",
  );
  assertEquals(findingSentences([stats()], [c]).length, 3);
});

Deno.test("every comparative sentence carries its interval or says not distinguishable; caveats reach every sentence about the group", () => {
  const flat = stats({ rewardDelta: ci(0.1, -0.2, 0.4), heldOutDelta: ci(0.03, -0.07, 0.13) });
  const c: Comparison = {
    source: "ours",
    a: "math_hard",
    b: "dialogue_soft",
    measure: "heldOutDelta",
    diff: ci(0.01, -0.1, 0.1),
    nA: 3,
    nB: 3,
  };
  const caveats = new Map([[
    caveatKey("ours", "dialogue_soft"),
    "judge fallback scored 100% of judge calls",
  ]]);
  const all = findingSentences([flat, stats({ experiment: "dialogue_soft" })], [c], { caveats });
  for (const s of all) {
    assert(/95% CI/.test(s) || s.includes("not distinguishable"), s);
    const zeroInside = /95% CI (−[\d.]+|[\d.]+) to \+?[\d.]+/.exec(s);
    if (zeroInside && s.includes("CI −")) assert(s.includes("not distinguishable"), s);
    if (s.includes("dialogue_soft")) assert(s.includes("caveat: judge fallback scored 100%"), s);
    else assert(!s.includes("caveat"), s);
  }
  assert(
    all.some((s) => s.startsWith("math_hard raised held-out accuracy") && s.includes("not distinguishable")),
  );
});
