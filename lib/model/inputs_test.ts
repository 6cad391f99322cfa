import { attentionBias, MASKED, positionsFromMask, ropeTables, sequenceMeanInputs } from "./inputs.ts";
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

Deno.test("sequenceMeanInputs: one row per sequence present, 1/n on its positions", () => {
  // T = 5; positions of rows 0 (two tokens) and 2 (three tokens); row 1 has none
  const q = sequenceMeanInputs([1, 2, 11, 12, 13], 5);
  assertEquals([q.sequences, q.seqIndex], [2, [0, 0, 1, 1, 1]]);
  assertEquals([...q.seqMean].map((x) => Math.round(x * 1e6) / 1e6), [
    0.5,
    0.5,
    0,
    0,
    0,
    0,
    0,
    0.333333,
    0.333333,
    0.333333,
  ]);
});
