import { argmax, sampleToken } from "./sampling.ts";
import { Rng } from "../util/mod.ts";
import { assert, assertAlmostEquals, assertEquals } from "../util/assert.ts";

const LOGITS = Float32Array.from([0.1, 2.0, -1.0, 1.5, 0.0]);

Deno.test("greedy, top-k = 1 and a tiny top-p all pick the argmax", () => {
  const rng = new Rng(0);
  assertEquals(argmax(LOGITS), 1);
  assertEquals(sampleToken(LOGITS, { temperature: 0, rng }), 1);
  assertEquals(sampleToken(LOGITS, { topK: 1, rng }), 1);
  assertEquals(sampleToken(LOGITS, { topP: 0.01, rng }), 1);
});

Deno.test("sampling frequencies follow softmax(logits / T); top-k excludes the rest", () => {
  const rng = new Rng(3), n = 20000, counts = new Array(5).fill(0);
  for (let i = 0; i < n; i++) counts[sampleToken(LOGITS, { temperature: 2, rng })]++;
  const z = Array.from(LOGITS, (x) => Math.exp(x / 2)), s = z.reduce((a, b) => a + b);
  z.forEach((p, i) => assertAlmostEquals(counts[i] / n, p / s, { tol: 0.015 }));
  for (let i = 0; i < 2000; i++) assert([1, 3].includes(sampleToken(LOGITS, { topK: 2, rng })));
});

Deno.test("rows at an offset are sampled from their own slice", () => {
  const two = Float32Array.from([9, 0, 0, 0, 0, 9]);
  assertEquals(sampleToken(two, { temperature: 0, rng: new Rng(0), offset: 3, size: 3 }), 2);
});
