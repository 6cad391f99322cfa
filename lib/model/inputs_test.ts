import { attentionBias, MASKED, positionsFromMask, ropeTables } from "./inputs.ts";
import { assertAlmostEquals, assertEquals } from "../util/assert.ts";

Deno.test("positions count real tokens (left padding safe)", () => {
  assertEquals(Array.from(positionsFromMask([0, 0, 1, 1, 1, 1, 1, 0], 2, 4)), [0, 0, 0, 1, 0, 1, 2, 2]);
});

Deno.test("attention bias is causal over cached + new keys and masks padding", () => {
  // one row, 2 cached keys (first is padding), 2 new queries
  const b = attentionBias([0, 1, 1, 1], { batch: 1, queries: 2, keys: 4 });
  assertEquals(Array.from(b), [MASKED, 0, 0, MASKED, MASKED, 0, 0, 0]);
});

Deno.test("RoPE tables: position 0 is identity; halves repeat", () => {
  const { cos, sin } = ropeTables(Int32Array.from([0, 3]), { headDim: 4, theta: 10000 });
  assertEquals(Array.from(cos.slice(0, 4)), [1, 1, 1, 1]);
  assertAlmostEquals(cos[4], Math.cos(3), 1e-6);
  assertAlmostEquals(sin[5], Math.sin(3 / 100), 1e-6);
  assertAlmostEquals(sin[7], sin[5], 0);
});
