import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";
import { mean, median, quantileSorted, sampleStd } from "./stats.ts";

Deno.test("mean and median: NaN for an empty list, exact otherwise", () => {
  assert(Number.isNaN(mean([])) && Number.isNaN(median([])));
  assertEquals(mean([1, 2, 3, 6]), 3);
  assertEquals(median([5, 1, 3]), 3);
  assertEquals(median([4, 1, 3, 2]), 2.5);
});

Deno.test("sampleStd uses n − 1 and is 0 below two values", () => {
  assertEquals(sampleStd([7]), 0);
  assertAlmostEquals(sampleStd([1, 2, 3, 4]), Math.sqrt(5 / 3), { tol: 1e-12 });
});

Deno.test("quantileSorted interpolates (type 7)", () => {
  assertEquals(quantileSorted([0, 10], 0.25), 2.5);
  assert(Number.isNaN(quantileSorted([], 0.5)));
});
