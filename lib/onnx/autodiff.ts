/**
 * Reverse-mode autodiff on recorded graphs. One table, {@linkcode VJP_RULES}, holds the vector–Jacobian
 * product of every differentiable primitive; broadcasting is undone in one place ({@linkcode unbroadcast}).
 * A node on the path from the parameters to the loss whose op has no rule is a loud error naming it.
 * Backward graphs use standard ONNX ops only (ONNX Runtime ships no gradient kernels).
 * @module
 */
import type { Node, Tensor } from "./graph.ts";
import * as op from "./ops.ts";
import { compositeOf, type CompositeRecord } from "./custom_vjp.ts";

/** Gradient of each input (null: none) given the gradients of the outputs (null: zero). */
export type VjpRule = (node: Node, grads: (Tensor | null)[]) => (Tensor | null)[];

/** Sums `g` (shaped like the broadcast result) back to the shape of `x`. */
export function unbroadcast(g: Tensor, x: Tensor): Tensor {
  const lead = g.rank - x.rank;
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  x.shape.forEach((d, i) => {
    if (d === 1 && g.shape[lead + i] !== 1) axes.push(lead + i);
  });
  if (!axes.length) return g;
  let r = op.reduceSum(g, axes, true);
  if (lead > 0) r = op.squeeze(r, axes.slice(0, lead));
  return r;
}

const isFloat = (t: Tensor) => t.dtype === "float32" || t.dtype === "float64" || t.dtype === "float16";

function staticDim(t: Tensor, axis: number, what: string): number {
  const d = t.shape[axis];
  if (typeof d !== "number") throw new Error(`${what}: gradient needs a static size on axis ${axis} of ${t}`);
  return d;
}

function matmulGrad(a: Tensor, b: Tensor, g: Tensor): [Tensor, Tensor] {
  const ga = op.matmul(g, op.transposeLast(b));
  let gb: Tensor;
  if (b.rank === 2 && a.rank > 2) {
    // [..., M, K] x [K, N]: fold the batch into rows so dB is one GEMM: a2ᵀ @ g2.
    const a2 = op.reshape(a, [-1, staticDim(a, a.rank - 1, "MatMul")]);
    const g2 = op.reshape(g, [-1, staticDim(g, g.rank - 1, "MatMul")]);
    gb = op.matmul(op.transposeLast(a2), g2);
  } else gb = unbroadcast(op.matmul(op.transposeLast(a), g), b);
  return [unbroadcast(ga, a), gb];
}

/** The derivative rules, one per primitive op. */
export const VJP_RULES: Record<string, VjpRule> = {
  Add: ({ inputs: [a, b] }, [g]) => [unbroadcast(g!, a), unbroadcast(g!, b)],
  Sub: ({ inputs: [a, b] }, [g]) => [unbroadcast(g!, a), unbroadcast(op.neg(g!), b)],
  Mul: ({ inputs: [a, b] }, [g]) => [unbroadcast(op.mul(g!, b), a), unbroadcast(op.mul(g!, a), b)],
  Div: ({ inputs: [a, b], outputs: [y] }, [g]) => [
    unbroadcast(op.div(g!, b), a),
    unbroadcast(op.neg(op.div(op.mul(g!, y), b)), b),
  ],
  Pow: ({ inputs: [a, b], outputs: [y] }, [g]) => [
    unbroadcast(op.mul(op.mul(g!, b), op.pow(a, op.sub(b, 1))), a),
    unbroadcast(op.mul(op.mul(g!, y), op.log(a)), b),
  ],
  // Ties split the gradient in half, as torch.maximum / torch.minimum do.
  Max: ({ inputs: [a, b] }, [g]) => minMaxGrad(a, b, g!, op.greater),
  Min: ({ inputs: [a, b] }, [g]) => minMaxGrad(a, b, g!, op.less),
  Neg: (_n, [g]) => [op.neg(g!)],
  Exp: ({ outputs: [y] }, [g]) => [op.mul(g!, y)],
  Log: ({ inputs: [x] }, [g]) => [op.div(g!, x)],
  Sqrt: ({ outputs: [y] }, [g]) => [op.div(op.mul(g!, 0.5), y)],
  Reciprocal: ({ outputs: [y] }, [g]) => [op.neg(op.mul(g!, op.mul(y, y)))],
  Sigmoid: ({ outputs: [y] }, [g]) => [op.mul(g!, op.mul(y, op.sub(1, y)))],
  Tanh: ({ outputs: [y] }, [g]) => [op.mul(g!, op.sub(1, op.mul(y, y)))],
  Abs: (
    { inputs: [x] },
    [g],
  ) => [op.mul(g!, x.graph.node("Sign", [x], [{ dtype: x.dtype, shape: x.shape }])[0])],
  Identity: (n, [g]) => [op.stopped.has(n) ? null : g],
  Cast: ({ inputs: [x] }, [g]) => [isFloat(x) ? op.cast(g!, x.dtype) : null],
  Where: ({ inputs: [c, a, b] }, [g]) => [
    null,
    unbroadcast(op.where(c, g!, 0), a),
    unbroadcast(op.where(c, 0, g!), b),
  ],
  MatMul: ({ inputs: [a, b] }, [g]) => matmulGrad(a, b, g!),
  Gemm: (
    { inputs: [a, b, c], attrs },
    [g],
  ) => [...gemmGrad(a, b, g!, attrs), ...(c ? [unbroadcast(g!, c)] : [])],
  Transpose: ({ attrs }, [g]) => {
    const perm = attrs.perm as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [op.transpose(g!, inv)];
  },
  Reshape: ({ inputs: [x] }, [g]) => [op.reshapeLike(g!, x), null],
  Unsqueeze: ({ inputs: [x] }, [g]) => [op.reshapeLike(g!, x), null],
  Squeeze: ({ inputs: [x] }, [g]) => [op.reshapeLike(g!, x), null],
  Expand: ({ inputs: [x] }, [g]) => [unbroadcast(g!, x), null],
  ReduceSum: ({ inputs: [x, axes], attrs }, [g]) => {
    let gg = g!;
    if (attrs.keepdims === 0) gg = op.unsqueeze(gg, (axes.constValue as number[]).map(Number));
    return [op.expandLike(gg, x), null];
  },
  Concat: ({ inputs, attrs }, [g]) => {
    const axis = attrs.axis as number;
    const sizes = inputs.map((t) => staticDim(t, axis, "Concat"));
    const parts = op.split(g!, sizes, axis);
    return inputs.map((t, i) => (isFloat(t) ? parts[i] : null));
  },
  Split: ({ outputs, attrs }, grads) => {
    const parts = outputs.map((o, i) => grads[i] ?? op.zerosLike(o));
    return [op.concat(parts, attrs.axis as number), null];
  },
  Slice: ({ inputs: [x, starts, ends, axes] }, [g]) => {
    const pads: [number, number][] = x.shape.map(() => [0, 0]);
    const ax = (axes.constValue as number[]).map(Number);
    ax.forEach((a, i) => {
      const n = staticDim(x, a, "Slice");
      const norm = (v: number) => Math.max(0, Math.min(n, v < 0 ? v + n : v));
      const s = norm(Number((starts.constValue as number[])[i]));
      const e = norm(Number((ends.constValue as number[])[i]));
      pads[a] = [s, n - e];
    });
    return [op.pad(g!, pads), null, null, null];
  },
  Pad: ({ inputs: [x, pads] }, [g]) => {
    const p = (pads.constValue as number[]).map(Number);
    const r = x.rank;
    const axes = x.shape.map((_, i) => i);
    return [op.slice(g!, axes.map((i) => p[i]), axes.map((i) => -p[r + i] || 2 ** 53), axes), null];
  },
  Gather: ({ inputs: [data, idx], attrs }, [g]) => {
    if ((attrs.axis ?? 0) !== 0) throw new Error("Gather gradient is implemented for axis 0 only");
    const zeros = op.zerosLike(data);
    return [op.scatterND(zeros, op.unsqueeze(idx, [-1]), g!, "add"), null];
  },
  GatherElements: ({ inputs: [data, idx], attrs }, [g]) => [
    op.scatterElements(op.zerosLike(data), idx, g!, { axis: attrs.axis as number, reduction: "add" }),
    null,
  ],
};

/** Y = op(A)·op(B): dA and dB as Gemms on the stored layouts (no explicit transposes). */
function gemmGrad(a: Tensor, b: Tensor, g: Tensor, attrs: Record<string, unknown>): [Tensor, Tensor] {
  const tA = attrs.transA === 1, tB = attrs.transB === 1;
  const gA = tA
    ? op.gemm(b, g, { transA: tB, transB: true }) // [K, M]
    : op.gemm(g, b, { transB: !tB }); // [M, K]
  const gB = tB
    ? op.gemm(g, a, { transA: true, transB: tA }) // [N, K]
    : op.gemm(a, g, { transA: !tA }); // [K, N]
  return [gA, gB];
}

function minMaxGrad(a: Tensor, b: Tensor, g: Tensor, wins: typeof op.greater): [Tensor, Tensor] {
  const dt = g.dtype;
  const w = op.add(op.cast(wins(a, b), dt), op.mul(op.cast(op.equal(a, b), dt), 0.5));
  const ga = op.mul(g, w);
  return [unbroadcast(ga, a), unbroadcast(op.sub(g, ga), b)];
}

/**
 * Adds the backward graph of `loss` (a scalar, or any tensor with `seed` as its upstream gradient) to the
 * graph and returns d loss / d x for each x in `wrt` (zeros where x does not reach the loss).
 */
export function gradients(loss: Tensor, wrt: Tensor[], options: { seed?: Tensor } = {}): Tensor[] {
  const g = loss.graph;
  // Forward: which tensors depend on any wrt tensor.
  const live = new Set<string>(wrt.map((t) => t.name));
  const nodes = g.nodes.slice();
  for (const n of nodes) {
    if (n.inputs.some((t) => live.has(t.name)) && !op.stopped.has(n)) {
      for (const o of n.outputs) if (isFloat(o)) live.add(o.name);
    }
  }
  const acc = new Map<string, Tensor[]>();
  const seed = options.seed ?? g.constant(loss.dtype, [1], loss.shape as number[]);
  acc.set(loss.name, [seed]);
  const total = (t: Tensor): Tensor | null => {
    const list = acc.get(t.name);
    if (!list || !list.length) return null;
    const s = list.reduce((a, b) => op.add(a, b));
    acc.set(t.name, [s]);
    return s;
  };
  const accumulate = (inputs: Tensor[], gIn: (Tensor | null)[]) =>
    inputs.forEach((t, j) => {
      const gi = gIn[j];
      if (!gi || !live.has(t.name)) return;
      const list = acc.get(t.name) ?? [];
      list.push(gi);
      acc.set(t.name, list);
    });
  const done = new Set<CompositeRecord>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    const c = compositeOf.get(n);
    if (c) {
      // A composite with its own derivative: its backward runs once, at its last node; the nodes inside are
      // never differentiated one by one.
      if (done.has(c)) continue;
      done.add(c);
      const needs = c.inputs.map((t) => live.has(t.name));
      if (!needs.some(Boolean)) continue;
      const gOut = c.outputs.map(total);
      if (gOut.every((x) => x === null)) continue;
      accumulate(c.inputs, c.backward({ inputs: c.inputs, outputs: c.outputs, attrs: c.attrs, needs }, gOut));
      continue;
    }
    if (!n.inputs.some((t) => live.has(t.name))) continue;
    const gOut = n.outputs.map(total);
    if (gOut.every((x) => x === null)) continue;
    const rule = VJP_RULES[n.opType];
    if (!rule) {
      throw new Error(
        `autodiff: no VJP rule for op ${n.opType} (producing ${
          n.outputs[0]
        }); add one to VJP_RULES in lib/onnx/autodiff.ts or wrap it in stopGradient`,
      );
    }
    accumulate(n.inputs, rule(n, gOut));
  }
  return wrt.map((t) => total(t) ?? op.zerosLike(t));
}
