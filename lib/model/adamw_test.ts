import { adamwInit, adamwStep, clipGradNorm, gradNorm } from "./adamw.ts";
import { assertAlmostEquals } from "../util/assert.ts";

Deno.test("AdamW matches torch.optim.AdamW for two steps (hand-derived reference)", () => {
  const p = new Map([["w", { data: Float32Array.from([1, -2]) }]]);
  const g = new Map([["w", { data: Float32Array.from([0.5, -1]) }]]);
  const state = adamwInit(p);
  const o = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, state };
  adamwStep(p, g, o);
  // step 1: m̂ = g, v̂ = g² → update = lr·sign(g); decay first: x·(1 − lr·wd)
  assertAlmostEquals(p.get("w")!.data[0], 1 * (1 - 0.001) - 0.1, { tol: 1e-6 });
  assertAlmostEquals(p.get("w")!.data[1], -2 * (1 - 0.001) + 0.1, { tol: 1e-6 });
  adamwStep(p, g, o);
  // same gradient again: m̂ = g, v̂ = g² still → another lr·sign(g)
  assertAlmostEquals(p.get("w")!.data[0], (0.899) * 0.999 - 0.1, { tol: 1e-6 });
});

Deno.test("gradient clipping scales to the max norm and reports the norm before", () => {
  const g = new Map([["a", { data: Float32Array.from([3, 4]) }]]);
  const before = clipGradNorm(g, 1);
  assertAlmostEquals(before, 5, { tol: 1e-6 });
  assertAlmostEquals(gradNorm(g), 1, { tol: 1e-5 });
  assertAlmostEquals(clipGradNorm(g, 10), 1, { tol: 1e-5 });
});
