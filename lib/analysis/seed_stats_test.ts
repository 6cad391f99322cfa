import { Rng } from "../util/mod.ts";
import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";
import { seedDiffCI, studentTCdf, studentTQuantile, tMeanCI, welchDiffCI } from "./seed_stats.ts";

const sv = (xs: number[], seed0 = 1) => xs.map((value, i) => ({ seed: seed0 + i, value }));

Deno.test("studentTQuantile: textbook 97.5 % points at 1, 2, 4, 10 and 30 df; the CDF inverts it", () => {
  const table: [number, number][] = [[1, 12.7062], [2, 4.3027], [4, 2.7764], [10, 2.2281], [30, 2.0423]];
  for (const [df, q] of table) assertAlmostEquals(studentTQuantile(0.975, df), q, { tol: 1e-3 });
  assertAlmostEquals(studentTQuantile(0.025, 4), -2.7764, { tol: 1e-3 });
  assertAlmostEquals(studentTCdf(studentTQuantile(0.9, 3.5), 3.5), 0.9, { tol: 1e-9 });
  assertAlmostEquals(studentTCdf(0, 7), 0.5, { tol: 1e-12 });
});

Deno.test("tMeanCI: mean ± t·s/√n; one seed gives no interval", () => {
  const ci = tMeanCI(sv([1, 2, 3]));
  assertEquals(ci.estimate, 2);
  assertAlmostEquals(ci.hi - 2, 4.3027 * 1 / Math.sqrt(3), { tol: 1e-3 });
  assertEquals(ci.method, "one-sample t");
  const one = tMeanCI(sv([5]));
  assert(one.n === 1 && Number.isNaN(one.lo), JSON.stringify(one));
  // Two seeds: much wider than [min, max] (the percentile bootstrap's answer).
  const two = tMeanCI(sv([0, 1]));
  assert(two.lo < -5 && two.hi > 6, JSON.stringify(two));
});

Deno.test("seedDiffCI: paired on shared seeds (a shared seed effect cancels), else Welch", () => {
  const a = sv([10, 20, 30]), b = sv([9, 19, 29.5]);
  const p = seedDiffCI(a, b);
  assertEquals(p.method, "paired t");
  assert(p.lo > 0, "the seed effect cancels in the paired differences");
  const w = welchDiffCI(a, b);
  assert(w.lo < 0, "unpaired, the seed effect swamps the difference");
  const noShared = seedDiffCI(sv([10, 20, 30], 1), sv([9, 19, 29], 11));
  assertEquals(noShared.method, "Welch t");
  assertEquals(noShared.seedsB, [11, 12, 13]);
});

Deno.test("t intervals keep their 95 % level at 2, 3 and 5 seeds (simulated normal seeds, seeded)", () => {
  const rng = new Rng(7);
  for (const n of [2, 3, 5]) {
    let miss = 0;
    const studies = 2000;
    for (let s = 0; s < studies; s++) {
      const ci = seedDiffCI(
        sv(Array.from({ length: n }, () => 3 + 4 * rng.normal())),
        sv(Array.from({ length: n }, () => 4 * rng.normal())),
      );
      if (ci.lo > 3 || ci.hi < 3) miss++;
    }
    const rate = miss / studies;
    assert(rate > 0.03 && rate < 0.07, `${n} seeds: ${rate} of intervals missed the true difference`);
  }
});
