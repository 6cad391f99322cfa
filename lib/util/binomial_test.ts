import { wilsonInterval } from "./binomial.ts";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";

Deno.test("wilsonInterval: textbook values, bounds at 0 % and 100 %, narrower with more trials", () => {
  // 60 of 100: the Wilson 95 % interval is [0.5020, 0.6906]
  const a = wilsonInterval(60, 100);
  assertAlmostEquals(a.low, 0.50201, { tol: 1e-4 });
  assertAlmostEquals(a.high, 0.69061, { tol: 1e-4 });
  const zero = wilsonInterval(0, 50);
  assertEquals(zero.low, 0);
  assert(zero.high > 0.05 && zero.high < 0.08, `0/50 upper end ${zero.high}`);
  const all = wilsonInterval(50, 50);
  assertEquals(all.high, 1);
  assert(all.low > 0.92 && all.low < 0.95);
  const big = wilsonInterval(600, 1000);
  assert(big.high - big.low < a.high - a.low);
  assertEquals(wilsonInterval(0, 0), { low: 0, high: 1 });
});
