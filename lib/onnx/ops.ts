/**
 * Primitive ONNX ops with shape inference. Each function records one node (plus int64 constants for axes and
 * shapes). Every primitive that can carry a gradient has a VJP rule in `autodiff.ts`; composites live in
 * `composites.ts`. Binary ops broadcast numpy-style and accept plain numbers (made constants of the other
 * operand's dtype).
 *
 * The argument rule's one exemption: operator builders (here, in `composites.ts` and `fused.ts`) take the
 * operator's own inputs and attributes positionally, in the operator's order (`slice(x, starts, ends, axes)`,
 * `where(cond, a, b)`), instead of the project's "at most two positional arguments plus options".
 * @module
 */
import type { Dim, DType } from "./graph.ts";
import { Tensor } from "./graph.ts";
import { DATA_TYPE } from "./proto.ts";

/** A tensor or a number (a scalar constant). */
export type TensorLike = Tensor | number;

function lift(x: TensorLike, like: Tensor): Tensor {
  return typeof x === "number" ? like.graph.scalar(like.dtype, x) : x;
}

function pair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === "number" && typeof b === "number") throw new Error("binary op on two numbers");
  const ref = (typeof a === "number" ? b : a) as Tensor;
  const ta = lift(a, ref), tb = lift(b, ref);
  if (ta.dtype !== tb.dtype) throw new Error(`dtype mismatch: ${ta} vs ${tb}`);
  return [ta, tb];
}

/** Numpy broadcast of two shapes (symbolic dims broadcast only against 1 or themselves). */
export function broadcastShapes(a: Dim[], b: Dim[]): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1 || x === y) out.push(x);
    else if (typeof x === "number" && typeof y === "number") {
      throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    } else out.push(typeof x === "number" ? x : y);
  }
  return out;
}

function binary(op: string, a: TensorLike, b: TensorLike, outType?: DType): Tensor {
  const [ta, tb] = pair(a, b);
  return ta.graph.node(op, [ta, tb], [{
    dtype: outType ?? ta.dtype,
    shape: broadcastShapes(ta.shape, tb.shape),
  }])[0];
}

function unary(op: string, x: Tensor, attrs = {}): Tensor {
  return x.graph.node(op, [x], [{ dtype: x.dtype, shape: [...x.shape] }], attrs)[0];
}

/** a + b */
export const add = (a: TensorLike, b: TensorLike): Tensor => binary("Add", a, b);
/** a − b */
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary("Sub", a, b);
/** a · b */
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary("Mul", a, b);
/** a / b */
export const div = (a: TensorLike, b: TensorLike): Tensor => binary("Div", a, b);
/** a ^ b (elementwise) */
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary("Pow", a, b);
/** Elementwise maximum. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary("Max", a, b);
/** Elementwise minimum. */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary("Min", a, b);
/** a < b (bool). */
export const less = (a: TensorLike, b: TensorLike): Tensor => binary("Less", a, b, "bool");
/** a > b (bool). */
export const greater = (a: TensorLike, b: TensorLike): Tensor => binary("Greater", a, b, "bool");
/** a == b (bool). */
export const equal = (a: TensorLike, b: TensorLike): Tensor => binary("Equal", a, b, "bool");
/** a ≥ b (bool). */
export const greaterOrEqual = (a: TensorLike, b: TensorLike): Tensor =>
  binary("GreaterOrEqual", a, b, "bool");

/** −x */
export const neg = (x: Tensor): Tensor => unary("Neg", x);
/** eˣ */
export const exp = (x: Tensor): Tensor => unary("Exp", x);
/** ln x */
export const log = (x: Tensor): Tensor => unary("Log", x);
/** √x */
export const sqrt = (x: Tensor): Tensor => unary("Sqrt", x);
/** 1/x */
export const reciprocal = (x: Tensor): Tensor => unary("Reciprocal", x);
/** 1/(1+e^−x) */
export const sigmoid = (x: Tensor): Tensor => unary("Sigmoid", x);
/** tanh x */
export const tanh = (x: Tensor): Tensor => unary("Tanh", x);
/** |x| */
export const abs = (x: Tensor): Tensor => unary("Abs", x);
/** Identity (a copy that keeps its gradient). */
export const identity = (x: Tensor): Tensor => unary("Identity", x);

/** Identity whose gradient is zero (autodiff stops here); like `detach()` / `no_grad`. */
export function stopGradient(x: Tensor): Tensor {
  const y = unary("Identity", x);
  y.producer!.attrs = {};
  stopped.add(y.producer!);
  return y;
}

/** Nodes made by {@linkcode stopGradient}. */
export const stopped: WeakSet<object> = new WeakSet();

/** Converts element type. */
export function cast(x: Tensor, to: DType): Tensor {
  return x.graph.node("Cast", [x], [{ dtype: to, shape: [...x.shape] }], { to: DATA_TYPE[to] })[0];
}

/** where(cond, a, b) */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = pair(a, b);
  const shape = broadcastShapes(cond.shape, broadcastShapes(ta.shape, tb.shape));
  return cond.graph.node("Where", [cond, ta, tb], [{ dtype: ta.dtype, shape }])[0];
}

/** Batched matrix product `[..., M, K] @ [..., K, N]` (ranks ≥ 2, batch dims broadcast). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul needs rank ≥ 2: ${a}, ${b}`);
  const k1 = a.shape[a.rank - 1], k2 = b.shape[b.rank - 2];
  if (typeof k1 === "number" && typeof k2 === "number" && k1 !== k2) {
    throw new Error(`matmul inner dims differ: ${a} @ ${b}`);
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]];
  return a.graph.node("MatMul", [a, b], [{ dtype: a.dtype, shape }])[0];
}

/** Permutes axes (default: reverse). */
export function transpose(x: Tensor, perm?: number[]): Tensor {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  return x.graph.node("Transpose", [x], [{ dtype: x.dtype, shape: p.map((i) => x.shape[i]) }], {
    perm: p,
  })[0];
}

/** Swaps the last two axes. */
export function transposeLast(x: Tensor): Tensor {
  const p = x.shape.map((_, i) => i);
  [p[x.rank - 2], p[x.rank - 1]] = [p[x.rank - 1], p[x.rank - 2]];
  return transpose(x, p);
}

function product(dims: Dim[]): Dim {
  if (dims.every((d) => typeof d === "number")) return (dims as number[]).reduce((a, b) => a * b, 1);
  const parts = dims.filter((d) => d !== 1).map(String);
  return parts.length === 1 ? dims.find((d) => d !== 1)! : parts.join("*");
}

/**
 * Reshape to `shape`: numbers, with ONNX's 0 (copy this axis from the input) and one −1 (inferred).
 * Symbolic input sizes are tracked through 0 and −1.
 */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const out: Dim[] = shape.map((d, i) => (d === 0 ? x.shape[i] : d));
  const neg1 = out.indexOf(-1);
  if (neg1 >= 0) {
    const known = out.filter((_, i) => i !== neg1);
    const total = product(x.shape), rest = product(known);
    if (typeof total === "number" && typeof rest === "number") out[neg1] = total / rest;
    else {
      const tparts = String(total).split("*"), rparts = String(rest).split("*");
      const left = [...tparts];
      for (const r of rparts) {
        const j = left.indexOf(r);
        if (j >= 0) left.splice(j, 1);
        else if (r !== "1") return reshapeFallback(x, shape, out, neg1);
      }
      out[neg1] = left.length === 0
        ? 1
        : left.length === 1 && /^\d+$/.test(left[0])
        ? Number(left[0])
        : left.join("*");
    }
  }
  return x.graph.node("Reshape", [x, x.graph.ints(shape)], [{ dtype: x.dtype, shape: out }])[0];
}

function reshapeFallback(x: Tensor, shape: number[], out: Dim[], neg1: number): Tensor {
  out[neg1] = x.graph.fresh("dim");
  return x.graph.node("Reshape", [x, x.graph.ints(shape)], [{ dtype: x.dtype, shape: out }])[0];
}

/** Reshape `x` to the run-time shape of `like` (shape taken from `like`). */
export function reshapeLike(x: Tensor, like: Tensor): Tensor {
  return x.graph.node("Reshape", [x, shapeOf(like)], [{ dtype: x.dtype, shape: [...like.shape] }])[0];
}

/** The run-time shape of `x` as an int64 vector. */
export function shapeOf(x: Tensor): Tensor {
  return x.graph.node("Shape", [x], [{ dtype: "int64", shape: [x.rank] }])[0];
}

function normAxes(axes: number[], rank: number): number[] {
  return axes.map((a) => (a < 0 ? a + rank : a));
}

/** Inserts size-1 axes at `axes` (positions in the output). */
export function unsqueeze(x: Tensor, axes: number[]): Tensor {
  const r = x.rank + axes.length;
  const ax = normAxes(axes, r).sort((a, b) => a - b);
  const shape: Dim[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) shape.push(ax.includes(i) ? 1 : x.shape[j++]);
  return x.graph.node("Unsqueeze", [x, x.graph.ints(ax)], [{ dtype: x.dtype, shape }])[0];
}

/** Removes the size-1 axes `axes`. */
export function squeeze(x: Tensor, axes: number[]): Tensor {
  const ax = normAxes(axes, x.rank);
  for (const a of ax) {
    if (x.shape[a] !== 1) throw new Error(`squeeze axis ${a} of ${x} is not 1`);
  }
  const shape = x.shape.filter((_, i) => !ax.includes(i));
  return x.graph.node("Squeeze", [x, x.graph.ints(ax)], [{ dtype: x.dtype, shape }])[0];
}

/** Concatenates along `axis`. */
export function concat(xs: Tensor[], axis: number): Tensor {
  const a = axis < 0 ? axis + xs[0].rank : axis;
  const shape = [...xs[0].shape];
  shape[a] = product(xs.map((x) => x.shape[a])) === 0 ? 0 : sumDims(xs.map((x) => x.shape[a]));
  return xs[0].graph.node("Concat", xs, [{ dtype: xs[0].dtype, shape }], { axis: a })[0];
}

function sumDims(dims: Dim[]): Dim {
  if (dims.every((d) => typeof d === "number")) return (dims as number[]).reduce((a, b) => a + b, 0);
  return dims.map(String).join("+");
}

/** Static slice `x[starts:ends]` on `axes` (ends may exceed the size; negative indexes count from the end). */
export function slice(x: Tensor, starts: number[], ends: number[], axes: number[]): Tensor {
  const shape = [...x.shape];
  const ax = normAxes(axes, x.rank);
  ax.forEach((a, i) => {
    const n = shape[a];
    if (typeof n === "number") {
      const s = Math.max(0, Math.min(n, starts[i] < 0 ? starts[i] + n : starts[i]));
      const e = Math.max(0, Math.min(n, ends[i] < 0 ? ends[i] + n : ends[i]));
      shape[a] = Math.max(0, e - s);
    } else if (starts[i] >= 0 && ends[i] >= 0 && ends[i] < 2 ** 40) shape[a] = ends[i] - starts[i];
    else shape[a] = x.graph.fresh("dim");
  });
  const g = x.graph;
  return g.node("Slice", [x, g.ints(starts), g.ints(ends), g.ints(ax)], [{ dtype: x.dtype, shape }])[0];
}

/** Gathers rows: `data[indices]` along `axis` (embedding lookup with axis 0). */
export function gather(data: Tensor, indices: Tensor, axis = 0): Tensor {
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  return data.graph.node("Gather", [data, indices], [{ dtype: data.dtype, shape }], { axis })[0];
}

/** GatherElements along `axis` (output has the indices' shape). */
export function gatherElements(data: Tensor, indices: Tensor, axis: number): Tensor {
  const out = [{ dtype: data.dtype, shape: [...indices.shape] }];
  return data.graph.node("GatherElements", [data, indices], out, {
    axis: axis < 0 ? axis + data.rank : axis,
  })[0];
}

/** ScatterElements with `reduction` ("none" | "add") along `axis`. */
export function scatterElements(
  data: Tensor,
  indices: Tensor,
  updates: Tensor,
  options: { axis: number; reduction?: "none" | "add" },
): Tensor {
  const axis = options.axis < 0 ? options.axis + data.rank : options.axis;
  const out = [{ dtype: data.dtype, shape: [...data.shape] }];
  return data.graph.node("ScatterElements", [data, indices, updates], out, {
    axis,
    reduction: options.reduction ?? "none",
  })[0];
}

/** ScatterND with `reduction` ("none" | "add"). */
export function scatterND(
  data: Tensor,
  indices: Tensor,
  updates: Tensor,
  reduction: "none" | "add" = "none",
): Tensor {
  const out = [{ dtype: data.dtype, shape: [...data.shape] }];
  return data.graph.node("ScatterND", [data, indices, updates], out, { reduction })[0];
}

/** Broadcasts `x` to `shape` (numpy rules; 1 keeps the input's size). */
export function expand(x: Tensor, shape: number[]): Tensor {
  const out = broadcastShapes(x.shape, shape);
  return x.graph.node("Expand", [x, x.graph.ints(shape)], [{ dtype: x.dtype, shape: out }])[0];
}

/** Broadcasts `x` to the run-time shape of `like`. */
export function expandLike(x: Tensor, like: Tensor): Tensor {
  const out = broadcastShapes(x.shape, like.shape);
  return x.graph.node("Expand", [x, shapeOf(like)], [{ dtype: x.dtype, shape: out }])[0];
}

function reduce(op: string, x: Tensor, axes: number[], keepdims: boolean): Tensor {
  const ax = normAxes(axes, x.rank);
  const shape = keepdims
    ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d))
    : x.shape.filter((_, i) => !ax.includes(i));
  return x.graph.node(op, [x, x.graph.ints(ax)], [{ dtype: x.dtype, shape }], {
    keepdims: keepdims ? 1 : 0,
  })[0];
}

/** Sum over `axes`. */
export const reduceSum = (x: Tensor, axes: number[], keepdims = false): Tensor =>
  reduce("ReduceSum", x, axes, keepdims);
/** Max over `axes` (use under {@linkcode stopGradient}; it has no VJP rule). */
export const reduceMax = (x: Tensor, axes: number[], keepdims = false): Tensor =>
  reduce("ReduceMax", x, axes, keepdims);

/** A tensor of the run-time shape `shapeTensor` filled with `value`. */
export function constantOfShape(shapeTensor: Tensor, dtype: DType, value: number, shape: Dim[]): Tensor {
  const g = shapeTensor.graph;
  const raw = dtype === "float64"
    ? new Uint8Array(Float64Array.of(value).buffer)
    : dtype === "int64"
    ? new Uint8Array(BigInt64Array.of(BigInt(value)).buffer)
    : new Uint8Array(Float32Array.of(value).buffer);
  return g.node("ConstantOfShape", [shapeTensor], [{ dtype, shape }], {
    value: { tensor: { name: "value", dtype, dims: [1], raw } },
  })[0];
}

/** Zeros shaped like `x`. */
export function zerosLike(x: Tensor): Tensor {
  return constantOfShape(shapeOf(x), x.dtype, 0, [...x.shape]);
}

/** Zero padding: `pads[i] = [before, after]` for each axis. */
export function pad(x: Tensor, pads: [number, number][]): Tensor {
  const shape = x.shape.map((d, i) =>
    pads[i][0] === 0 && pads[i][1] === 0
      ? d
      : typeof d === "number"
      ? d + pads[i][0] + pads[i][1]
      : `${d}+${pads[i][0] + pads[i][1]}`
  );
  const flat = [...pads.map((p) => p[0]), ...pads.map((p) => p[1])];
  return x.graph.node("Pad", [x, x.graph.ints(flat)], [{ dtype: x.dtype, shape }], { mode: "constant" })[0];
}

/** Splits along `axis` into pieces of `sizes`. */
export function split(x: Tensor, sizes: number[], axis: number): Tensor[] {
  const a = axis < 0 ? axis + x.rank : axis;
  const outs = sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? s : d)) }));
  return x.graph.node("Split", [x, x.graph.ints(sizes)], outs, { axis: a });
}

/** Indices of the `k` largest values along the last axis: `[values, indices]`. */
export function topK(x: Tensor, k: number): [Tensor, Tensor] {
  const shape = [...x.shape.slice(0, -1), k];
  const out = [{ dtype: x.dtype, shape }, { dtype: "int64" as DType, shape }];
  const [v, i] = x.graph.node("TopK", [x, x.graph.ints([k])], out, { axis: -1 });
  return [v, i];
}

/** Arg-max along `axis` (int64, keepdims 0). */
export function argMax(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank : axis;
  const shape = x.shape.filter((_, i) => i !== a);
  return x.graph.node("ArgMax", [x], [{ dtype: "int64", shape }], { axis: a, keepdims: 0 })[0];
}

/**
 * General matrix multiply on 2-D operands: `op(A) @ op(B) (+ C)`, where op transposes when `transA` /
 * `transB` is set. With `transB` a weight stored `[out, in]` is used as is (no transposed copy).
 */
export function gemm(
  a: Tensor,
  b: Tensor,
  options: { transA?: boolean; transB?: boolean; c?: Tensor } = {},
): Tensor {
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`gemm needs 2-D operands: ${a}, ${b}`);
  const tA = options.transA ? 1 : 0, tB = options.transB ? 1 : 0;
  const M = a.shape[tA ? 1 : 0], K1 = a.shape[tA ? 0 : 1], K2 = b.shape[tB ? 1 : 0], N = b.shape[tB ? 0 : 1];
  if (typeof K1 === "number" && typeof K2 === "number" && K1 !== K2) {
    throw new Error(`gemm inner dims differ: ${a}, ${b}`);
  }
  const inputs = options.c ? [a, b, options.c] : [a, b];
  return a.graph.node("Gemm", inputs, [{ dtype: a.dtype, shape: [M, N] }], { transA: tA, transB: tB })[0];
}
