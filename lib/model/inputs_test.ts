import {
  attentionBias,
  MASKED,
  positionsFromMask,
  ropeInvFreq,
  ropeTables,
  sequenceMeanInputs,
} from "./inputs.ts";
import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";

Deno.test("positions count real tokens (left padding safe)", () => {
  assertEquals(Array.from(positionsFromMask([0, 0, 1, 1, 1, 1, 1, 0], { batch: 2, length: 4 })), [
    0,
    0,
    0,
    1,
    0,
    1,
    2,
    2,
  ]);
});

Deno.test("attention bias is causal over cached + new keys and masks padding", () => {
  // one row, 2 cached keys (first is padding), 2 new queries
  const b = attentionBias([0, 1, 1, 1], { batch: 1, queries: 2, keys: 4 });
  assertEquals(Array.from(b), [MASKED, 0, 0, MASKED, MASKED, 0, 0, 0]);
});

Deno.test("RoPE tables: position 0 is identity; halves repeat", () => {
  const { cos, sin } = ropeTables(Int32Array.from([0, 3]), { headDim: 4, theta: 10000 });
  assertEquals(Array.from(cos.slice(0, 4)), [1, 1, 1, 1]);
  assertAlmostEquals(cos[4], Math.cos(3), { tol: 1e-6 });
  assertAlmostEquals(sin[5], Math.sin(3 / 100), { tol: 1e-6 });
  assertAlmostEquals(sin[7], sin[5], { tol: 0 });
});

Deno.test("RoPE llama3 scaling (Llama 3.2 1B): short wavelengths kept, long ones / factor, the band between smoothed", () => {
  const scaling = { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
  const plain = ropeInvFreq({ headDim: 64, theta: 500000 });
  const scaled = ropeInvFreq({ headDim: 64, theta: 500000, scaling });
  assertAlmostEquals(plain[5], 500000 ** (-10 / 64), { tol: 1e-15 });
  // wavelength 2π/inv crosses 8192/4 = 2048 between i = 14 and 15, and 8192 between i = 17 and 18
  for (let i = 0; i < 32; i++) {
    const wavelen = (2 * Math.PI) / plain[i];
    if (i <= 14) assert(wavelen < 2048 && scaled[i] === plain[i], `i=${i} kept`);
    else if (i >= 18) assert(wavelen > 8192 && scaled[i] === plain[i] / 32, `i=${i} divided by the factor`);
    else {
      const smooth = (8192 / wavelen - 1) / (4 - 1);
      assertAlmostEquals(scaled[i], (1 - smooth) * plain[i] / 32 + smooth * plain[i], { tol: 1e-18 });
      assert(scaled[i] < plain[i] && scaled[i] > plain[i] / 32, `i=${i} between`);
    }
  }
  const t = ropeTables(Int32Array.from([100]), { headDim: 64, theta: 500000, scaling });
  assertAlmostEquals(t.sin[31], Math.sin(100 * plain[31] / 32), { tol: 1e-6 });
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
