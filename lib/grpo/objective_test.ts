import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";
import { groupAdvantages } from "./advantages.ts";
import { sampleStd as std } from "../util/mod.ts";
import { entropyWeights } from "./losses.ts";
import { combineRewards, entropyMask, groupsWithSpread, quantile } from "./objective.ts";

Deno.test("quantile interpolates linearly like torch.quantile; entropyMask keeps the top-q tokens of the mask", () => {
  assertEquals(quantile([4, 1, 3, 2], 0), 1);
  assertEquals(quantile([4, 1, 3, 2], 1), 4);
  assertAlmostEquals(quantile([4, 1, 3, 2], 0.5), 2.5, { tol: 1e-12 });
  assertAlmostEquals(quantile([1, 2, 3, 4, 5], 0.8), 4.2, { tol: 1e-12 });
  const entropy = [9, 1, 2, 3, 4, 5, 0.5, 7];
  const mask = [0, 1, 1, 1, 1, 1, 1, 0]; // 9 and 7 are off the mask and never kept
  assertEquals([...entropyMask(entropy, mask, { quantile: 1 })], [0, 1, 1, 1, 1, 1, 1, 0]);
  // top 20 % of {1, 2, 3, 4, 5, 0.5}: threshold quantile 0.8 = 4 → entropies 4 and 5
  assertEquals([...entropyMask(entropy, mask, { quantile: 0.2 })], [0, 0, 0, 0, 1, 1, 0, 0]);
  assertEquals([...entropyMask(entropy, mask, { quantile: 0 })], [0, 0, 0, 0, 0, 1, 0, 0]);
  assertEquals([...entropyMask(entropy, [0, 0, 0, 0, 0, 0, 0, 0], { quantile: 0.5 })], [
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
});

Deno.test("entropyWeights: the mean entropy over the effective mask, per TRL's normalization of each loss type", () => {
  const eff = [1, 1, 0, 1];
  assertEquals([...entropyWeights(eff, { lossType: "dapo", globalTokens: 8, accumulation: 2 })], [
    1 / 8,
    1 / 8,
    0,
    1 / 8,
  ]);
  assertEquals([...entropyWeights(eff, { lossType: "cispo", globalTokens: 8, accumulation: 2 })][0], 1 / 8);
  assertEquals(
    [...entropyWeights(eff, { lossType: "grpo", globalTokens: 8, accumulation: 2 })][0],
    1 / 3 / 2,
  );
});

Deno.test("combineRewards: without nulls, sum_then_normalize equals the group advantages", () => {
  const a = [1, 0, 2, 2], b = [0.5, 0.5, 0.5, 0.5]; // totals 2, 1 | 3, 3
  const total = a.map((x, i) => x + 2 * b[i]);
  for (const scale of ["group", "batch", "none"] as const) {
    const c = combineRewards([a, b], {
      weights: [1, 2],
      groupSize: 2,
      scale,
      aggregation: "sum_then_normalize",
    });
    assertEquals(c.advantages, groupAdvantages(total, { groupSize: 2, scale }).advantages);
    assertEquals(c.total, total);
  }
  const c = combineRewards([a, b], {
    weights: [1, 2],
    groupSize: 2,
    scale: "group",
    aggregation: "sum_then_normalize",
  });
  assertEquals([c.zeroStdGroups, c.fracZeroStd, c.unscorable], [1, 0.5, 0]); // group 2 has no spread
});

Deno.test("combineRewards: a null score is skipped for that sample; a sample no reward scored gets advantage 0", () => {
  const a = [1, null, 3, null], b = [null, 2, null, null];
  const c = combineRewards([a, b], {
    weights: [1, 1],
    groupSize: 4,
    scale: "group",
    aggregation: "sum_then_normalize",
  });
  assertEquals(c.total.slice(0, 3), [1, 2, 3]);
  assert(Number.isNaN(c.total[3]));
  assertEquals(c.unscorable, 1);
  const sd = std([1, 2, 3]);
  assertAlmostEquals(c.advantages[0], (1 - 2) / (sd + 1e-4), { tol: 1e-12 });
  assertAlmostEquals(c.advantages[2], (3 - 2) / (sd + 1e-4), { tol: 1e-12 });
  assertEquals(c.advantages[3], 0);
});

Deno.test("combineRewards normalize_then_sum (GDPO): each reward normalized per group, summed, normalized over the batch", () => {
  const a = [1, 0, 5, 5], b = [0, 10, 1, 3];
  const c = combineRewards([a, b], {
    weights: [1, 0.5],
    groupSize: 2,
    scale: "group",
    aggregation: "normalize_then_sum",
  });
  const z = (x: number, m: number, s: number) => (x - m) / (s + 1e-4);
  const sA = std([1, 0]), sB1 = std([0, 10]), sB2 = std([1, 3]);
  // group 2 of reward a has zero spread: its normalized values are 0
  const summed = [
    z(1, 0.5, sA) + 0.5 * z(0, 5, sB1),
    z(0, 0.5, sA) + 0.5 * z(10, 5, sB1),
    0 + 0.5 * z(1, 2, sB2),
    0 + 0.5 * z(3, 2, sB2),
  ];
  const m = summed.reduce((x, y) => x + y) / 4, s = std(summed);
  summed.forEach((v, i) => assertAlmostEquals(c.advantages[i], (v - m) / (s + 1e-4), { tol: 1e-9 }));
  assertEquals(c.fracZeroStd, 0);
});

Deno.test("groupsWithSpread keeps groups whose reward std is not (close to) zero", () => {
  assertEquals(groupsWithSpread([0, 0.5, 1e-9, NaN, 2]), [1, 4]);
});
