import { checkGrads, type GradInput } from "./check_grads.ts";
import type { Tensor } from "./graph.ts";
import { Graph } from "./graph.ts";
import * as op from "./ops.ts";
import * as C from "./composites.ts";
import { gradients, VJP_RULES } from "./autodiff.ts";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";

type Case = {
  name: string;
  rule: string;
  fn: (...x: Tensor[]) => Tensor;
  inputs: GradInput[];
  opts?: { eps: number; tol: number };
};

const F = (...shape: number[]): GradInput => ({ shape });
const P = (...shape: number[]): GradInput => ({ shape, positive: true });

/** One or more cases per VJP rule, on random shapes, with broadcasting where the op broadcasts. */
const CASES: Case[] = [
  { name: "Add broadcast [2,3,4]+[3,1]", rule: "Add", fn: op.add, inputs: [F(2, 3, 4), F(3, 1)] },
  { name: "Sub broadcast [4]-[2,3,4]", rule: "Sub", fn: op.sub, inputs: [F(4), F(2, 3, 4)] },
  { name: "Mul broadcast [2,1,4]*[3,1]", rule: "Mul", fn: op.mul, inputs: [F(2, 1, 4), F(3, 1)] },
  { name: "Div broadcast [2,3]/[3]", rule: "Div", fn: op.div, inputs: [F(2, 3), P(3)] },
  { name: "Pow [2,3]^[1,3]", rule: "Pow", fn: op.pow, inputs: [P(2, 3), F(1, 3)] },
  { name: "Max broadcast", rule: "Max", fn: op.maximum, inputs: [F(2, 3), F(3)] },
  { name: "Min broadcast", rule: "Min", fn: op.minimum, inputs: [F(3, 1), F(1, 4)] },
  { name: "Neg", rule: "Neg", fn: op.neg, inputs: [F(3, 2)] },
  { name: "Exp", rule: "Exp", fn: op.exp, inputs: [F(5)] },
  { name: "Log", rule: "Log", fn: op.log, inputs: [P(2, 3)] },
  { name: "Sqrt", rule: "Sqrt", fn: op.sqrt, inputs: [P(4)] },
  { name: "Reciprocal", rule: "Reciprocal", fn: op.reciprocal, inputs: [P(2, 2)] },
  { name: "Sigmoid", rule: "Sigmoid", fn: op.sigmoid, inputs: [F(6)] },
  { name: "Tanh", rule: "Tanh", fn: op.tanh, inputs: [F(6)] },
  { name: "Abs", rule: "Abs", fn: op.abs, inputs: [F(6)] },
  { name: "Identity", rule: "Identity", fn: op.identity, inputs: [F(2, 2)] },
  {
    name: "Cast f64→f32→f64",
    rule: "Cast",
    fn: (x) => op.cast(op.mul(op.cast(x, "float32"), x.graph.scalar("float32", 1)), "float64"),
    inputs: [F(3)],
    // float32 in the middle: a larger step and tolerance for the finite difference
    opts: { eps: 1e-2, tol: 1e-4 },
  },
  {
    name: "Where broadcast",
    rule: "Where",
    fn: (c, a, b) => op.where(c, a, b),
    inputs: [{ shape: [2, 3], dtype: "bool", values: [1, 0, 1, 0, 0, 1] }, F(2, 3), F(3)],
  },
  { name: "MatMul [2,3]@[3,4]", rule: "MatMul", fn: op.matmul, inputs: [F(2, 3), F(3, 4)] },
  {
    name: "MatMul batched [2,3,4]@[4,2] (folded dB)",
    rule: "MatMul",
    fn: op.matmul,
    inputs: [F(2, 3, 4), F(4, 2)],
  },
  {
    name: "MatMul broadcast [2,1,3,4]@[3,4,2]",
    rule: "MatMul",
    fn: op.matmul,
    inputs: [F(2, 1, 3, 4), F(3, 4, 2)],
  },
  ...[false, true].flatMap((tA) =>
    [false, true].map((tB): Case => ({
      name: `Gemm transA=${tA} transB=${tB} + bias`,
      rule: "Gemm",
      fn: (a, b, c) => op.gemm(a, b, { transA: tA, transB: tB, c }),
      inputs: [tA ? F(4, 3) : F(3, 4), tB ? F(2, 4) : F(4, 2), F(2)],
    }))
  ),
  { name: "Transpose", rule: "Transpose", fn: (x) => op.transpose(x, [1, 2, 0]), inputs: [F(2, 3, 4)] },
  { name: "Reshape", rule: "Reshape", fn: (x) => op.reshape(x, [0, -1]), inputs: [F(2, 3, 4)] },
  { name: "Unsqueeze", rule: "Unsqueeze", fn: (x) => op.unsqueeze(x, [0, 2]), inputs: [F(2, 3)] },
  { name: "Squeeze", rule: "Squeeze", fn: (x) => op.squeeze(x, [1]), inputs: [F(2, 1, 3)] },
  { name: "Expand [3,1]→[2,3,4]", rule: "Expand", fn: (x) => op.expand(x, [2, 3, 4]), inputs: [F(3, 1)] },
  {
    name: "ReduceSum keepdims",
    rule: "ReduceSum",
    fn: (x) => op.reduceSum(x, [1], true),
    inputs: [F(2, 3, 4)],
  },
  {
    name: "ReduceSum drop axes",
    rule: "ReduceSum",
    fn: (x) => op.reduceSum(x, [0, 2]),
    inputs: [F(2, 3, 4)],
  },
  { name: "Concat", rule: "Concat", fn: (a, b) => op.concat([a, b, a], 1), inputs: [F(2, 3), F(2, 2)] },
  { name: "Split", rule: "Split", fn: (x) => op.mul(op.split(x, [1, 3], 1)[1], 2), inputs: [F(2, 4)] },
  { name: "Slice", rule: "Slice", fn: (x) => op.slice(x, [1, -3], [3, 100], [0, 1]), inputs: [F(4, 5)] },
  { name: "Pad", rule: "Pad", fn: (x) => op.pad(x, [[1, 0], [2, 1]]), inputs: [F(2, 3)] },
  {
    name: "Gather rows (repeated indices accumulate)",
    rule: "Gather",
    fn: (w, i) => op.gather(w, i),
    inputs: [F(5, 3), { shape: [2, 3], dtype: "int64", values: [0, 4, 0, 2, 2, 2] }],
  },
  {
    name: "GatherElements last axis",
    rule: "GatherElements",
    fn: (x, i) => op.gatherElements(x, i, -1),
    inputs: [F(2, 3, 5), { shape: [2, 3, 1], dtype: "int64", values: [0, 4, 2, 1, 1, 3] }],
  },
];

/** Composites are checked end to end through the primitive rules. */
const COMPOSITES: Case[] = [
  { name: "softmax", rule: "", fn: (x) => C.softmax(x), inputs: [F(3, 5)] },
  { name: "logSoftmax", rule: "", fn: (x) => C.logSoftmax(x), inputs: [F(3, 5)] },
  { name: "rmsNorm", rule: "", fn: (x, w) => C.rmsNorm(x, w, 1e-5), inputs: [F(2, 3, 4), F(4)] },
  { name: "silu", rule: "", fn: (x) => C.silu(x), inputs: [F(7)] },
  { name: "clamp", rule: "", fn: (x) => C.clamp(x, -0.5, 0.5), inputs: [F(8)] },
  { name: "mean", rule: "", fn: (x) => C.mean(x, [0, 1]), inputs: [F(2, 3)] },
];

for (const c of [...CASES, ...COMPOSITES]) {
  Deno.test(`VJP ${c.name}`, async () => {
    const r = await checkGrads(c.fn, c.inputs, { seed: 1, ...c.opts });
    assert(r.ok, `${c.name}: relative error ${r.maxRelError}`);
  });
}

Deno.test("every VJP rule has a test case", () => {
  const tested = new Set(CASES.map((c) => c.rule));
  const missing = Object.keys(VJP_RULES).filter((r) => !tested.has(r));
  assert(missing.length === 0, `untested rules: ${missing.join(", ")}`);
});

Deno.test("checkGrads catches a wrong rule", async () => {
  const saved = VJP_RULES.Exp;
  VJP_RULES.Exp = ({ outputs: [y] }, [g]) => [op.mul(op.mul(g!, y), 1.01)];
  try {
    const r = await checkGrads(op.exp, [F(4)]);
    assert(!r.ok, "a 1% error must be detected");
  } finally {
    VJP_RULES.Exp = saved;
  }
});

Deno.test("a missing VJP rule is a loud error naming the op", () => {
  const g = new Graph();
  const x = g.input("x", "float64", [3]);
  const y = op.reduceMax(x, [0]);
  assertThrows(() => gradients(y, [x]), { cls: Error, includes: "no VJP rule for op ReduceMax" });
});

Deno.test("stopGradient blocks the gradient", async () => {
  const r = await checkGrads((x) => op.add(x, op.stopGradient(op.mul(x, x))), [F(3)]);
  assert(!r.ok, "numeric differs because the stopped branch still changes the value");
  const g = new Graph();
  const x = g.input("x", "float64", [3]);
  const [dx] = gradients(op.reduceSum(op.stopGradient(op.mul(x, x)), [0]), [x]);
  assert(dx.producer?.opType === "ConstantOfShape", "zero gradient when every path is stopped");
});

Deno.test("serialization drops nodes no output needs (e.g. gradients of frozen weights)", () => {
  const g = new Graph();
  const x = g.input("x", "float32", [2, 3]);
  const w = g.initializer("w", new Float32Array(12), [4, 3]);
  const y = op.reduceSum(op.gemm(x, w, { transB: true }), [0, 1]);
  const [dx] = gradients(y, [x]);
  g.output(dx, "dx");
  const dW = (nodes: typeof g.nodes) =>
    nodes.filter((n) => n.opType === "Gemm" && n.attrs.transA === 1).length;
  assertEquals(dW(g.nodes), 1, { msg: "the Gemm rule records dW too" });
  assertEquals(dW(g.liveNodes()), 0, { msg: "but nobody needs it, so it is not serialized" });
});

Deno.test("fused inference kernels have no VJP rule: differentiating through one is a loud error", () => {
  const g = new Graph();
  const x = g.input("x", "float64", [2, 3]);
  const [y] = g.node("Softmax", [x], [{ dtype: "float64", shape: [2, 3] }], { axis: -1 });
  assertThrows(() => gradients(op.reduceSum(y, [0, 1]), [x]), {
    cls: Error,
    includes: "no VJP rule for op Softmax",
  });
});
