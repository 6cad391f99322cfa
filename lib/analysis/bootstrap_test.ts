import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../util/assert.ts";
import {
  binomialTwoSidedP,
  bootstrapMeanCI,
  distinguishable,
  mcnemar,
  pairedBootstrap,
} from "./bootstrap.ts";

Deno.test("mcnemar counts the four cells and gives the exact binomial p", () => {
  const a = [true, true, true, false, false, true];
  const b = [true, false, false, false, true, false];
  const m = mcnemar(a, b);
  assertEquals([m.both, m.aOnly, m.bOnly, m.neither, m.n], [1, 3, 1, 1, 6]);
  // 3 vs 1 discordant: p = 2·(C(4,0)+C(4,1))/16 = 0.625
  assertAlmostEquals(m.p, 0.625, { tol: 1e-12 });
  assertEquals(mcnemar([true], [true]).p, 1);
  // 10 vs 0: p = 2/1024
  assertAlmostEquals(binomialTwoSidedP(0, 10), 2 / 1024, { tol: 1e-12 });
  assertThrows(() => mcnemar([true], []));
});

Deno.test("pairedBootstrap: one seed of 100 problems gets an interval; pairing removes shared noise", () => {
  // b: base right on 60 of 100; a: the same plus 3 more → +3 points, interval straddles 0.
  const b = Array.from({ length: 100 }, (_, i) => (i < 60 ? 1 : 0));
  const a = b.map((x, i) => (i >= 60 && i < 63 ? 1 : x));
  const ci = pairedBootstrap(a, b, { seed: 1 });
  assertAlmostEquals(ci.estimate, 0.03, { tol: 1e-12 });
  assertEquals(ci.n, 100);
  assert(ci.lo >= 0 && ci.hi > 0.03, `${ci.lo} ${ci.hi}`);
  // Mixed changes: 8 gained, 5 lost → +3 points but the interval includes 0.
  const c = b.map((x, i) => (i >= 60 && i < 68 ? 1 : i < 5 ? 0 : x));
  const ci2 = pairedBootstrap(c, b, { seed: 1 });
  assertAlmostEquals(ci2.estimate, 0.03, { tol: 1e-12 });
  assert(ci2.lo < 0 && ci2.hi > 0 && !distinguishable(ci2));
  // Large consistent gain is distinguishable.
  const d = b.map((x, i) => (i >= 60 && i < 90 ? 1 : x));
  assert(distinguishable(pairedBootstrap(d, b)));
  assertThrows(() => pairedBootstrap([1], [1, 0]));
});

Deno.test("pairedBootstrap resamples within strata and is deterministic per seed", () => {
  const a = [1, 1, 1, 0, 0, 0], b = [0, 0, 0, 0, 0, 0];
  const strata = [0, 0, 0, 1, 1, 1];
  const ci = pairedBootstrap(a, b, { strata, seed: 3 });
  // Each stratum keeps its size, so every draw is exactly 0.5.
  assertEquals([ci.lo, ci.hi], [0.5, 0.5]);
  assertEquals(pairedBootstrap(a, b, { seed: 3 }), pairedBootstrap(a, b, { seed: 3 }));
  assert(Number.isNaN(pairedBootstrap([], []).estimate));
});

Deno.test("bootstrapMeanCI of one value is that value; distinguishable needs finite bounds", () => {
  const ci = bootstrapMeanCI([2]);
  assertEquals([ci.estimate, ci.lo, ci.hi, ci.n], [2, 2, 2, 1]);
  assert(!distinguishable({ lo: NaN, hi: NaN }));
  assert(distinguishable({ lo: -2, hi: -1 }));
});
