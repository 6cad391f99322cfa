/**
 * Composites with their own derivative (see `custom_vjp.ts`), used by the training graphs:
 *
 * - `RmsNorm`: forward on ONNX Runtime's fused `SimplifiedLayerNormalization`; the backward recomputes the
 *   inverse RMS from the input (one row reduction) instead of keeping the composite's intermediates.
 * - `SwiGlu`: silu(gate) · up; the backward recomputes the sigmoid, so only the two GEMM outputs are kept.
 * - `Attention`: softmax(q kᵀ + bias) v on the fused `Softmax` kernel; the backward recomputes the
 *   probabilities from q and k (selective recomputation, Korthikanti et al. 2022), so no `[B, heads, T, S]`
 *   tensor outlives its layer's forward.
 * - `TokenLogprobs`: log p(target) of `h Wᵀ` over the vocabulary in chunks. The forward also forms
 *   d logp / d h = W[target] − E_p[W] ([M, H]), so neither the `[M, V]` logits nor their softmax gradient
 *   ever exist whole, and nothing is recomputed.
 * @module
 */
import type { Tensor } from "./graph.ts";
import * as op from "./ops.ts";
import { after, callComposite, type CompositeRule } from "./custom_vjp.ts";
import { unbroadcast } from "./autodiff.ts";

const rowMean = (x: Tensor) => op.div(op.reduceSum(x, [-1], true), x.shape[x.rank - 1] as number);

function inverseRms(x: Tensor, eps: number): Tensor {
  return op.reciprocal(op.sqrt(op.add(rowMean(op.mul(x, x)), eps)));
}

const RMS_NORM: CompositeRule = {
  name: "RmsNorm",
  forward: ([x, w], { eps }) => {
    if (x.dtype !== "float32") return [op.mul(op.mul(x, inverseRms(x, eps as number)), w)];
    return x.graph.node("SimplifiedLayerNormalization", [x, w], [{ dtype: x.dtype, shape: [...x.shape] }], {
      axis: -1,
      epsilon: { float: eps as number },
    });
  },
  backward: ({ inputs: [x, w], attrs: { eps }, needs }, [g]) => {
    const r = inverseRms(x, eps as number); // [..., 1]
    const xhat = op.mul(x, r);
    const gw = op.mul(g!, w);
    const dx = needs[0] ? op.mul(op.sub(gw, op.mul(xhat, rowMean(op.mul(gw, xhat)))), r) : null;
    const dw = needs[1] ? unbroadcast(op.mul(g!, xhat), w) : null;
    return [dx, dw];
  },
};

/** RMSNorm over the last axis with a hand-written VJP (fused kernel forward in float32). */
export function rmsNormFused(x: Tensor, weight: Tensor, eps: number): Tensor {
  return callComposite(RMS_NORM, [x, weight], { eps })[0];
}

/**
 * silu(x) = x·σ(x). In float64 it is written x / (1 + e^−x): ONNX Runtime rewrites x·σ(x) into its
 * float32-only `QuickGelu` kernel.
 */
function siluOf(x: Tensor): Tensor {
  return x.dtype === "float32" ? op.mul(x, op.sigmoid(x)) : op.div(x, op.add(op.exp(op.neg(x)), 1));
}

const SWIGLU: CompositeRule = {
  name: "SwiGlu",
  forward: ([gate, up]) => [op.mul(siluOf(gate), up)],
  backward: ({ inputs: [gate, up] }, [g]) => {
    const s = op.sigmoid(gate);
    const silu = siluOf(gate);
    // d silu / d gate = σ + x·σ·(1 − σ) = σ·(1 − silu) + silu
    const dgate = op.mul(op.mul(g!, up), op.add(op.mul(s, op.sub(1, silu)), silu));
    return [dgate, op.mul(g!, silu)];
  },
};

/** silu(gate) · up with a VJP that keeps only `gate` and `up`. */
export function swiGlu(gate: Tensor, up: Tensor): Tensor {
  return callComposite(SWIGLU, [gate, up])[0];
}

function softmaxKernel(x: Tensor): Tensor {
  return x.graph.node("Softmax", [x], [{ dtype: x.dtype, shape: [...x.shape] }], { axis: -1 })[0];
}

const ATTENTION: CompositeRule = {
  name: "Attention",
  forward: (
    [q, k, v, bias],
  ) => [op.matmul(softmaxKernel(op.add(op.matmul(q, op.transposeLast(k)), bias)), v)],
  backward: ({ inputs: [q, k, v, bias], needs }, [g]) => {
    // recompute the probabilities after the output gradient exists (see `after`)
    const p = softmaxKernel(op.add(op.matmul(after(q, g!), op.transposeLast(k)), bias));
    const dp = op.matmul(g!, op.transposeLast(v));
    const ds = op.mul(p, op.sub(dp, op.reduceSum(op.mul(dp, p), [-1], true)));
    return [
      needs[0] ? op.matmul(ds, k) : null,
      needs[1] ? unbroadcast(op.matmul(op.transposeLast(ds), q), k) : null,
      needs[2] ? unbroadcast(op.matmul(op.transposeLast(p), g!), v) : null,
      needs[3] ? unbroadcast(ds, bias) : null,
    ];
  },
};

/**
 * softmax(q kᵀ + bias) · v (q pre-scaled). Keys and values may broadcast over the query heads (GQA with a
 * size-1 axis). The backward recomputes the probabilities.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor): Tensor {
  return callComposite(ATTENTION, [q, k, v, bias])[0];
}

/** Column ranges of `size` split into chunks of at most `chunk`. */
function chunkRanges(size: number, chunk: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < size; s += chunk) out.push([s, Math.min(size, s + chunk)]);
  return out;
}

/**
 * Rows `[s, e)` of the weight `w`, sliced at run time: the bounds depend (by + 0) on the run-time size of
 * `like`, so ONNX Runtime does not constant-fold the slice of an initializer into a second copy of the weight.
 */
function rowsAt(w: Tensor, s: number, e: number, like: Tensor): Tensor {
  const zero = op.mul(op.slice(op.shapeOf(like), [0], [1], [0]), 0); // int64 [1], 0 at run time
  const g = w.graph;
  const starts = op.add(g.ints([s]), zero), ends = op.add(g.ints([e]), zero);
  return g.node("Slice", [w, starts, ends, g.ints([0])], [{ dtype: w.dtype, shape: [e - s, w.shape[1]] }])[0];
}

const TOKEN_LOGPROBS: CompositeRule = {
  name: "TokenLogprobs",
  forward: ([h, w, targets], { chunk, grad, entropy }) => {
    // h: [M, H]; w: [V, H]; targets: [M] int64
    const V = w.shape[0] as number;
    const parts = chunkRanges(V, chunk as number).map(([s, e]) => {
      const wc = rowsAt(w, s, e, targets);
      const l = op.gemm(h, wc, { transB: true }); // [M, Vc]
      const m = op.stopGradient(op.reduceMax(l, [-1], true)); // [M, 1]
      const ex = op.exp(op.sub(l, m));
      return {
        m,
        s: op.reduceSum(ex, [-1], true),
        ew: grad ? op.gemm(ex, wc) : null, // Σ_v e^(l_v − m) W_v: [M, H]
        el: entropy ? op.reduceSum(op.mul(ex, l), [-1], true) : null, // Σ_v e^(l_v − m) l_v
      };
    });
    const mAll = parts.map((p) => p.m).reduce((a, b) => op.maximum(a, b));
    const scaled = parts.map((p) => op.exp(op.sub(p.m, mAll))); // [M, 1] each
    const sum = parts.map((p, i) => op.mul(p.s, scaled[i])).reduce((a, b) => op.add(a, b));
    const lse = op.add(op.log(sum), mAll); // [M, 1]
    const wt = op.gather(w, targets); // [M, H]
    const picked = op.reduceSum(op.mul(h, wt), [-1], true); // [M, 1]
    const outs = [op.squeeze(op.sub(picked, lse), [-1]), op.squeeze(lse, [-1])];
    const inv = op.reciprocal(sum);
    if (entropy) {
      const el = parts.map((p, i) => op.mul(p.el!, scaled[i])).reduce((a, b) => op.add(a, b));
      outs.push(op.squeeze(op.sub(lse, op.mul(el, inv)), [-1])); // lse − E_p[l]
    }
    if (grad) {
      const ew = parts.map((p, i) => op.mul(p.ew!, scaled[i])).reduce((a, b) => op.add(a, b));
      outs.push(op.sub(wt, op.mul(ew, inv))); // d logp / d h = W[target] − E_p[W]: [M, H]
    }
    return outs;
  },
  backward: ({ outputs, attrs: { grad, entropy }, needs }, [gLogp, gLse, gEnt]) => {
    if (needs[1]) throw new Error("TokenLogprobs: no gradient for the head weight (use tokenLogprobs)");
    if (gLse || gEnt) throw new Error("TokenLogprobs: only the log-probs carry a gradient");
    if (!needs[0] || !gLogp) return [null, null, null];
    if (!grad) throw new Error("TokenLogprobs: built with grad: false but differentiated");
    const jac = outputs[entropy ? 3 : 2];
    return [op.mul(jac, op.unsqueeze(gLogp, [-1])), null, null];
  },
};

/** What {@linkcode chunkedTokenLogprobs} returns (all [M] except `jacobian`). */
export interface ChunkedLogprobs {
  logp: Tensor;
  lse: Tensor;
  /** With `entropy: true`: the entropy of each row's distribution (no gradient flows through it). */
  entropy?: Tensor;
}

/**
 * log p(target) of the logits `h wᵀ` ([M, V]) computed over vocabulary chunks of `chunk` columns: only
 * `[M, chunk]` pieces exist at a time. Differentiable with respect to `h` (set `grad`), not `w`.
 */
export function chunkedTokenLogprobs(
  h: Tensor,
  w: Tensor,
  options: { targets: Tensor; chunk?: number; grad?: boolean; entropy?: boolean },
): ChunkedLogprobs {
  const outs = callComposite(TOKEN_LOGPROBS, [h, w, options.targets], {
    chunk: options.chunk ?? 8192,
    grad: options.grad ? 1 : 0,
    entropy: options.entropy ? 1 : 0,
  });
  return { logp: outs[0], lse: outs[1], entropy: options.entropy ? outs[2] : undefined };
}

/**
 * The registered composites, by name: every composite the graphs use, listed once here (each has a
 * finite-difference test in `fused_test.ts`, which checks this list).
 */
export const COMPOSITE_RULES: Readonly<Record<string, CompositeRule>> = Object.freeze(
  Object.fromEntries([RMS_NORM, SWIGLU, ATTENTION, TOKEN_LOGPROBS].map((r) => [r.name, r])),
);
