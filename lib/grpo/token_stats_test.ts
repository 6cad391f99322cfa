import { groupAdvantages } from "./advantages.ts";
import { tokenWeights } from "./losses.ts";
import { shiftFromNext, shiftToNext, tokenStats } from "./token_stats.ts";
import { sampleStd as std } from "../util/mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../util/assert.ts";

Deno.test("group advantages: centred per group, scaled by the group std; zero-std groups counted", () => {
  const r = groupAdvantages([2, 0, 0, 0, 1, 1, 1, 1], { groupSize: 4, scale: "group" });
  const s = std([2, 0, 0, 0]);
  assertAlmostEquals(r.advantages[0], 1.5 / (s + 1e-4), { tol: 1e-9 });
  assertEquals(r.advantages.slice(4), [0, 0, 0, 0]);
  assertEquals(r.zeroStdGroups, 1);
  const none = groupAdvantages([3, 1], { groupSize: 2, scale: "none" });
  assertEquals(none.advantages, [1, -1]);
  assertThrows(() => groupAdvantages([1, 2, 3], { groupSize: 2, scale: "group" }));
});

Deno.test("token weights reproduce each loss type's aggregation", () => {
  const mask = [1, 1, 0, 0, 1, 1, 1, 1]; // two rows, 2 and 4 completion tokens
  const sum = (w: Float64Array) => w.reduce((a, b) => a + b, 0);
  const grpo = tokenWeights(mask, { batch: 2, lossType: "grpo", maxCompletionLength: 4 });
  assertAlmostEquals(grpo[0], 1 / 2 / 2, { tol: 1e-12 }); // mean over rows of the row's token mean
  assertAlmostEquals(grpo[4], 1 / 4 / 2, { tol: 1e-12 });
  for (const lt of ["bnpo", "dapo"] as const) {
    const w = tokenWeights(mask, { batch: 2, lossType: lt, maxCompletionLength: 4 });
    assertAlmostEquals(sum(w), 1, { tol: 1e-12 });
    assertAlmostEquals(w[0], 1 / 6, { tol: 1e-12 });
  }
  const dr = tokenWeights(mask, { batch: 2, lossType: "dr_grpo", maxCompletionLength: 4 });
  assertAlmostEquals(dr[0], 1 / 8, { tol: 1e-12 });
  assertEquals(grpo[2], 0);
});

Deno.test("accumulating two half-batches gives the full-batch weights (dapo, grpo, dr_grpo)", () => {
  const a = [1, 1, 0, 1], b = [1, 0, 0, 0]; // two micro-batches of one row
  const full = [...a, ...b];
  for (const lt of ["dapo", "grpo", "dr_grpo"] as const) {
    const whole = tokenWeights(full, { batch: 2, lossType: lt, maxCompletionLength: 4 });
    const o = { batch: 1, lossType: lt, maxCompletionLength: 4, globalSequences: 2, globalTokens: 4 };
    const parts = [...tokenWeights(a, o), ...tokenWeights(b, o)];
    parts.forEach((w, i) => assertAlmostEquals(w, whole[i], { tol: 1e-12, msg: `${lt} ${i}` }));
  }
});

Deno.test("next-token shifts are inverse on the interior", () => {
  const x = [1, 2, 3, 4, 5, 6];
  assertEquals(Array.from(shiftToNext(x, 2)), [2, 3, 0, 5, 6, 0]);
  assertEquals(Array.from(shiftFromNext(shiftToNext(x, 2), 2)), [0, 2, 3, 0, 5, 6]);
});

Deno.test("token stats: KL is 0 at the reference; clipping counted by sign of the advantage", () => {
  const s = tokenStats(
    {
      mask: [1, 1, 1, 0],
      logprobs: [-1, -1, -1, -1],
      old: [-1, -1.5, -0.5, -1],
      ref: [-1, -1, -1, -1],
      advantages: [1, -1],
    },
    { batch: 2, epsilon: 0.2, epsilonHigh: 0.2 },
  );
  assertEquals(s.kl, 0);
  // token 1: ratio e^0.5 > 1.2 with A > 0 → high; token 2: ratio e^-0.5 < 0.8 with A < 0 → low
  assertAlmostEquals(s.clipHigh, 1 / 3, { tol: 1e-12 });
  assertAlmostEquals(s.clipLow, 1 / 3, { tol: 1e-12 });
  assert(s.clipRegion > 0.6);
});

Deno.test("tokenStats with sequenceLevel: every token of a row shares the row's mean-log-ratio ratio", () => {
  const mask = [1, 1, 1, 1];
  const logprobs = [0, 0, 0, 0], old = [-0.5, 0.1, 0, 0]; // row 0 mean log-ratio 0.2 → ratio 1.22 > 1.2
  const o = { batch: 2, epsilon: 0.2, epsilonHigh: 0.2 };
  const tok = tokenStats({ mask, logprobs, old, advantages: [1, 1] }, o);
  assertEquals(tok.clipHigh, 0.25); // only token 0 (ratio e^0.5)
  const seq = tokenStats({ mask, logprobs, old, advantages: [1, 1] }, { ...o, sequenceLevel: true });
  assertEquals(seq.clipHigh, 0.5); // both tokens of row 0
});
