/**
 * Composite ops built only from primitives in `ops.ts`, so their gradients come from the primitive VJP rules.
 * @module
 */
import type { Tensor } from "./graph.ts";
import * as op from "./ops.ts";

function staticSize(x: Tensor, axes: number[]): number {
  let n = 1;
  for (const a of axes) {
    const d = x.shape[a < 0 ? a + x.rank : a];
    if (typeof d !== "number") throw new Error(`mean over symbolic axis ${a} of ${x}`);
    n *= d;
  }
  return n;
}

/** Mean over `axes` (their sizes must be static). */
export function mean(x: Tensor, axes: number[], keepdims = false): Tensor {
  return op.div(op.reduceSum(x, axes, keepdims), staticSize(x, axes));
}

/** Softmax along `axis`: exp(x − max) / Σ exp(x − max); the max is a constant for the gradient. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const e = op.exp(op.sub(x, op.stopGradient(op.reduceMax(x, [axis], true))));
  return op.div(e, op.reduceSum(e, [axis], true));
}

/** log softmax along `axis`: z − log Σ exp z with z = x − max. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const z = op.sub(x, op.stopGradient(op.reduceMax(x, [axis], true)));
  return op.sub(z, op.log(op.reduceSum(op.exp(z), [axis], true)));
}

/** RMSNorm over the last axis: x / √(mean(x²) + eps) · weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const ms = mean(op.mul(x, x), [-1], true);
  return op.mul(op.mul(x, op.reciprocal(op.sqrt(op.add(ms, eps)))), weight);
}

/** SiLU: x · σ(x). */
export function silu(x: Tensor): Tensor {
  return op.mul(x, op.sigmoid(x));
}

/** Clamp to [lo, hi]; the gradient passes where lo ≤ x ≤ hi (as torch.clamp). */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  return op.where(op.less(x, lo), lo, op.where(op.greater(x, hi), hi, x));
}

/** `x @ w` where `w` is stored `[in, out]`, plus an optional bias. */
export function linear(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const y = op.matmul(x, w);
  return bias ? op.add(y, bias) : y;
}
