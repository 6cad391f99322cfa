/** Medians with min–max, and the ±15 % spread flag. */
import { formatStats, summarize } from "./rounds.ts";
import { assert, assertAlmostEquals, assertEquals } from "../lib/util/assert.ts";

Deno.test("rounds: median, min–max and spread; a spread beyond ±15 % is flagged", () => {
  const steady = summarize([100, 104, 98, 101, 110]);
  assertEquals([steady.median, steady.min, steady.max], [101, 98, 110]);
  assertAlmostEquals(steady.spread, 9 / 101);
  assertEquals(steady.unstable, false);
  assertEquals(formatStats(steady), "101.0 (98.0–110.0)");
  // the spread the issue saw (int4 92–197 around ~117) is flagged
  const noisy = summarize([92, 117, 197, 120, 110]);
  assert(noisy.unstable && noisy.spread > 0.15, JSON.stringify(noisy));
  assert(formatStats(noisy).endsWith("UNSTABLE"), formatStats(noisy));
});
