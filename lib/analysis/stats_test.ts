import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";
import { Rng } from "../util/mod.ts";
import { fakeMetrics, rowsOf } from "./fixtures.ts";
import {
  bootstrapDiffCI,
  bootstrapMeanCI,
  compareExperimentStats,
  experimentStats,
  leastSquaresSlope,
  mean,
  quantileSorted,
  runStats,
  sampleStd,
  stepChangeStd,
} from "./stats.ts";
import { type MetricRow, tableFromRows } from "./table.ts";

Deno.test("basic statistics on known inputs", () => {
  assertEquals(mean([1, 2, 3, 6]), 3);
  assert(Number.isNaN(mean([])));
  assertAlmostEquals(sampleStd([2, 4, 4, 4, 5, 5, 7, 9]), 2.138089935, { tol: 1e-8 });
  assertEquals(sampleStd([5]), 0);
  assertAlmostEquals(leastSquaresSlope([0, 1, 2, 3], [1, 3, 5, 7]), 2, { tol: 1e-12 });
  assertAlmostEquals(leastSquaresSlope([1, 2, 3], [1, 0, 2]), 0.5, { tol: 1e-12 });
  assertEquals(leastSquaresSlope([2, 2], [1, 5]), 0);
  assertEquals(stepChangeStd([1, 2, 3, 4]), 0); // steady linear growth
  assertAlmostEquals(stepChangeStd([0, 1, 0, 1, 0]), Math.sqrt(4 / 3), { tol: 1e-12 }); // diffs ±1
  assertEquals(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
  assertEquals(quantileSorted([1, 2, 3, 4], 0), 1);
  assertEquals(quantileSorted([1, 2, 3, 4], 1), 4);
});

Deno.test("bootstrapMeanCI: known cases", () => {
  assertEquals(bootstrapMeanCI([0.5, 0.5, 0.5]), { estimate: 0.5, lo: 0.5, hi: 0.5, n: 3 });
  assertEquals(bootstrapMeanCI([4]), { estimate: 4, lo: 4, hi: 4, n: 1 });
  // Two values: resample means are 0, .5, 1 with p = .25, .5, .25, so the 95% interval is [0, 1].
  const two = bootstrapMeanCI([0, 1], { resamples: 4000 });
  assertEquals([two.estimate, two.lo, two.hi], [0.5, 0, 1]);
  // A 40% interval takes the 30% and 70% quantiles, which fall in the middle mass (0.5).
  const ci = bootstrapMeanCI([0, 1], { resamples: 4000, level: 0.4 });
  assertEquals([ci.lo, ci.hi], [0.5, 0.5]);
  assert(Number.isNaN(bootstrapMeanCI([]).estimate));
});

Deno.test("bootstrapMeanCI: pure (same seed, same answer) and about right for normal data", () => {
  const rng = new Rng(3);
  const xs = Array.from({ length: 60 }, () => 10 + 2 * rng.normal());
  const a = bootstrapMeanCI(xs, { seed: 5 }),
    b = bootstrapMeanCI(xs, { seed: 5 }),
    c = bootstrapMeanCI(xs, { seed: 6 });
  assertEquals(a, b);
  assert(a.lo !== c.lo || a.hi !== c.hi, "a different seed should move the bounds a little");
  const se = sampleStd(xs) / Math.sqrt(xs.length);
  assertAlmostEquals(a.hi - a.lo, 2 * 1.96 * se, { tol: 0.25 * 2 * 1.96 * se });
  assert(a.lo < a.estimate && a.estimate < a.hi);
  assertAlmostEquals((a.lo + a.hi) / 2, a.estimate, { tol: 0.3 * se });
});

Deno.test("bootstrapDiffCI: exact for constant groups, sign and width for shifted groups", () => {
  assertEquals(bootstrapDiffCI([3, 3, 3], [1, 1]), { estimate: 2, lo: 2, hi: 2, n: 2 });
  const rng = new Rng(9);
  const a = Array.from({ length: 40 }, () => 1 + 0.1 * rng.normal());
  const b = Array.from({ length: 40 }, () => 0.5 + 0.1 * rng.normal());
  const d = bootstrapDiffCI(a, b, { seed: 1 });
  assertAlmostEquals(d.estimate, mean(a) - mean(b), { tol: 1e-12 });
  assert(d.lo > 0.4 && d.hi < 0.6 && d.lo < d.estimate && d.estimate < d.hi, JSON.stringify(d));
  assertEquals(bootstrapDiffCI(a, b, { seed: 1 }), d);
});

Deno.test("runStats / experimentStats / compareExperimentStats on synthetic runs", () => {
  const rows: MetricRow[] = [];
  // math_hard: reward 0.5 + 0.01·step without noise; accuracy 0.3 → 0.3 + 0.002·20 (+4 points).
  for (const seed of [0, 1, 2]) {
    rows.push(
      ...rowsOf(fakeMetrics({ experiment: "math_hard", seed, steps: 20, noise: 0 }), {
        experiment: "math_hard",
        seed: seed,
      }),
    );
    rows.push(...rowsOf(
      fakeMetrics({
        experiment: "math_soft",
        seed,
        steps: 20,
        noise: 0,
        evalValue: (s) => 0.3 + 0.001 * s * (seed + 1),
      }),
      { experiment: "math_soft", seed: seed },
    ));
  }
  const rs = runStats(tableFromRows(rows), { window: 5 });
  assertEquals(rs.length, 6);
  const r0 = rs.find((r) => r.experiment === "math_hard" && r.seed === 0)!;
  assertEquals([r0.steps, r0.window], [20, 5]);
  assertAlmostEquals(r0.rewardStart, 0.53, { tol: 1e-12 }); // steps 1..5
  assertAlmostEquals(r0.rewardEnd, 0.68, { tol: 1e-12 }); // steps 16..20
  assertAlmostEquals(r0.slope, 0.01, { tol: 1e-12 });
  assertAlmostEquals(r0.stability, 0, { tol: 1e-12 });
  assertEquals(r0.heldOut?.metric, "eval/accuracy");
  assertEquals(r0.heldOut?.steps, [0, 20]);
  assertEquals(r0.heldOut?.evals, 3);
  assertAlmostEquals(r0.heldOut!.delta, 0.04, { tol: 1e-12 });

  const es = experimentStats(rs, { seed: 1 });
  assertEquals(es.map((e) => [e.experiment, e.seeds]), [["math_hard", [0, 1, 2]], ["math_soft", [0, 1, 2]]]);
  assertAlmostEquals(es[0].heldOutDelta!.estimate, 0.04, { tol: 1e-12 });
  assertAlmostEquals(es[0].heldOutDelta!.lo, 0.04, { tol: 1e-12 }); // identical seeds: zero-width CI
  const soft = es[1].heldOutDelta!; // deltas 0.02, 0.04, 0.06
  assertAlmostEquals(soft.estimate, 0.04, { tol: 1e-12 });
  // Student t, 2 df: 0.04 ± 4.303 · 0.02/√3 — wider than [0.02, 0.06], the percentile bootstrap's answer.
  assertAlmostEquals(soft.hi - 0.04, 4.3027 * 0.02 / Math.sqrt(3), { tol: 1e-5 });
  assertAlmostEquals(soft.lo, 0.04 - (soft.hi - 0.04), { tol: 1e-12 });

  const cmp = compareExperimentStats(rs, { seed: 1 });
  assertEquals(cmp.length, 1);
  assertEquals([cmp[0].a, cmp[0].b, cmp[0].measure, cmp[0].metric, cmp[0].nA], [
    "math_hard",
    "math_soft",
    "heldOutDelta",
    "eval/accuracy",
    3,
  ]);
  assertAlmostEquals(cmp[0].diff.estimate, 0, { tol: 1e-12 });
  assert(cmp[0].diff.lo < 0 && cmp[0].diff.hi > 0);
  const flipped = compareExperimentStats(rs, { pairs: [["math_soft", "math_hard"]], measure: "rewardEnd" });
  assertEquals([flipped[0].a, flipped[0].b], ["math_soft", "math_hard"]);
  assertAlmostEquals(flipped[0].diff.estimate, 0, { tol: 1e-12 });
});

Deno.test("runStats: a single held-out evaluation gives no delta; windows shrink for short runs", () => {
  const recs = fakeMetrics({ experiment: "m", seed: 0, steps: 6, evalEvery: 100, noise: 0 });
  const [s] = runStats(tableFromRows(rowsOf(recs, { experiment: "m", seed: 0 })));
  assertEquals(s.window, 3);
  assertEquals(s.heldOut?.evals, 1);
  assert(Number.isNaN(s.heldOut!.delta));
  const [e] = experimentStats([s]);
  assertEquals(e.heldOutDelta, undefined);
  assertEquals(e.heldOutBefore?.n, 1);
});
