import { checkGrads, type GradInput } from "./check_grads.ts";
import type { Tensor } from "./graph.ts";
import { Graph } from "./graph.ts";
import * as op from "./ops.ts";
import * as C from "./composites.ts";
import { attention, chunkedTokenLogprobs, COMPOSITE_RULES, rmsNormFused, swiGlu } from "./fused.ts";
import { checkpoint } from "./recompute.ts";
import { gradients } from "./autodiff.ts";
import { createSession, f32, i64 } from "./session.ts";
import { Rng } from "../util/mod.ts";
import { assert, assertThrows } from "../util/assert.ts";

const F = (...shape: number[]): GradInput => ({ shape });
const ids = (shape: number[], values: number[]): GradInput => ({ shape, dtype: "int64", values });

function constant(x: Tensor, shape: number[], seed: number): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return x.graph.constant("float64", Array.from({ length: n }, () => rng.normal()), shape);
}

type Case = { name: string; rule: string; fn: (...x: Tensor[]) => Tensor; inputs: GradInput[] };

/** Each composite with its own VJP against finite differences (float64). */
const CASES: Case[] = [
  {
    name: "RmsNorm [2,3,4]·[4]",
    rule: "RmsNorm",
    fn: (x, w) => rmsNormFused(x, w, 1e-5),
    inputs: [F(2, 3, 4), F(4)],
  },
  { name: "SwiGlu [3,5]", rule: "SwiGlu", fn: swiGlu, inputs: [F(3, 5), F(3, 5)] },
  {
    name: "Attention, GQA broadcast keys [1,2,3,4,5] · [1,2,1,6,5]",
    rule: "Attention",
    fn: (q, k, v, b) => attention(q, k, v, b),
    inputs: [F(1, 2, 3, 4, 5), F(1, 2, 1, 6, 5), F(1, 2, 1, 6, 5), F(1, 1, 1, 4, 6)],
  },
  {
    name: "TokenLogprobs, 7 columns in chunks of 3",
    rule: "TokenLogprobs",
    fn: (h, t) => chunkedTokenLogprobs(h, constant(h, [7, 4], 3), { targets: t, chunk: 3, grad: true }).logp,
    inputs: [F(5, 4), ids([5], [0, 6, 3, 2, 6])],
  },
];

for (const c of CASES) {
  Deno.test(`custom VJP ${c.name}`, async () => {
    const r = await checkGrads(c.fn, c.inputs, { seed: 2 });
    assert(r.ok, `${c.name}: relative error ${r.maxRelError}`);
  });
}

Deno.test("every composite with its own VJP has a finite-difference case", () => {
  const tested = new Set(CASES.map((c) => c.rule));
  const missing = Object.keys(COMPOSITE_RULES).filter((r) => !tested.has(r));
  assert(missing.length === 0, `untested composites: ${missing.join(", ")}`);
});

Deno.test("checkpoint: gradients of a recomputed block (with a nested composite) match finite differences", async () => {
  const block = (x: Tensor, a: Tensor) => {
    const h = C.rmsNorm(x, constant(x, [4], 5), 1e-5);
    const q = op.reshape(op.matmul(h, a), [1, 1, 1, 3, 4]);
    const att = op.reshape(attention(q, q, q, constant(x, [1, 1, 1, 3, 3], 6)), [3, 4]);
    return op.add(x, swiGlu(att, h));
  };
  const r = await checkGrads(
    (x, a) => checkpoint(([xi, ai]) => block(block(xi, ai), ai), [x, a]),
    [F(3, 4), F(4, 4)],
    { seed: 3 },
  );
  assert(r.ok, `relative error ${r.maxRelError}`);
});

Deno.test("chunked log-probs and entropy equal the unchunked ones (float32, fused forward)", async () => {
  const g = new Graph();
  const h = g.input("h", "float32", ["M", 8]);
  const t = g.input("t", "int64", ["M"]);
  const rng = new Rng(4);
  const w = g.initializer("w", Float32Array.from({ length: 11 * 8 }, () => rng.normal()), [11, 8]);
  const r = chunkedTokenLogprobs(h, w, { targets: t, chunk: 4, entropy: true });
  const logits = op.gemm(h, w, { transB: true });
  const ref = C.logSoftmax(logits);
  g.output(r.logp, "logp");
  g.output(r.entropy!, "ent");
  g.output(op.squeeze(op.gatherElements(ref, op.unsqueeze(t, [-1]), -1), [-1]), "ref_logp");
  g.output(op.neg(op.reduceSum(op.mul(op.exp(ref), ref), [-1])), "ref_ent");
  const s = await createSession(g, { device: "cpu", threads: 1 });
  const out = await s.run({
    h: f32(Array.from({ length: 3 * 8 }, () => rng.normal()), [3, 8]),
    t: i64([10, 0, 5], [3]),
  });
  for (const [a, b] of [["logp", "ref_logp"], ["ent", "ref_ent"]]) {
    const x = out[a].data as Float32Array, y = out[b].data as Float32Array;
    for (let i = 0; i < 3; i++) assert(Math.abs(x[i] - y[i]) < 1e-5, `${a}[${i}] ${x[i]} vs ${y[i]}`);
  }
  await s.release();
});

Deno.test("differentiating the chunked log-probs with respect to the head weight is a loud error", () => {
  const g = new Graph();
  const h = g.input("h", "float64", [2, 3]);
  const w = g.input("w", "float64", [5, 3]);
  const r = chunkedTokenLogprobs(h, w, { targets: g.input("t", "int64", [2]), chunk: 2, grad: true });
  assertThrows(() => gradients(op.reduceSum(r.logp, [0]), [w]), {
    cls: Error,
    includes: "no gradient for the head weight",
  });
});
