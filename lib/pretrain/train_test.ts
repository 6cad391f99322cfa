import { lrAt, packBatch } from "./train.ts";
import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";

Deno.test("lrAt: linear warmup to lr, cosine down to lr·minLrRatio", () => {
  const o = { steps: 110, lr: 1, warmup: 10, minLrRatio: 0.1 };
  assertAlmostEquals(lrAt(0, o), 0.1, { tol: 1e-12 });
  assertAlmostEquals(lrAt(9, o), 1, { tol: 1e-12 });
  assertAlmostEquals(lrAt(10, o), 1, { tol: 1e-12 });
  assertAlmostEquals(lrAt(60, o), 0.55, { tol: 1e-12 });
  assertAlmostEquals(lrAt(110, o), 0.1, { tol: 1e-12 });
  for (let s = 11; s < 110; s++) assert(lrAt(s, o) <= lrAt(s - 1, o));
});

Deno.test("packBatch: right-pads, and weights the completion tokens in next-token alignment", () => {
  const { batch, weights, tokens } = packBatch([
    { ids: [5, 6, 7], lossMask: [0, 1, 1] },
    { ids: [8, 9], lossMask: [0, 1] },
  ], 0);
  assertEquals(batch.ids, [5, 6, 7, 8, 9, 0]);
  assertEquals(batch.mask, [1, 1, 1, 1, 1, 0]);
  assertEquals(tokens, 3);
  // position t carries the loss of token t + 1
  assertEquals(Array.from(weights), [1 / 3, 1 / 3, 0, 1 / 3, 0, 0]);
});
