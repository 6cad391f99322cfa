/**
 * Token sampling from logits: greedy (temperature 0), temperature, top-k and top-p (nucleus), driven by a
 * seeded {@linkcode Rng} so the same seed gives the same tokens.
 * @module
 */
import type { Rng } from "../util/mod.ts";

/** Sampling settings. */
export interface SamplingOptions {
  /** 0 → greedy. Default 1. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = all). Default 0. */
  topK?: number;
  /** Keep the smallest set whose probability reaches p (1 = all). Default 1. */
  topP?: number;
}

/** Index of the largest value in `x[off, off + n)`, relative to `off`. */
export function argmax(x: ArrayLike<number>, off = 0, n = x.length - off): number {
  let best = 0, bv = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[off + i];
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/** Samples one token from the logits row `logits[off, off + n)`. */
export function sampleToken(
  logits: ArrayLike<number>,
  options: SamplingOptions & { rng: Rng; offset?: number; size?: number },
): number {
  const off = options.offset ?? 0, n = options.size ?? logits.length - off;
  const temp = options.temperature ?? 1, topK = options.topK ?? 0, topP = options.topP ?? 1;
  if (temp <= 0) return argmax(logits, off, n);
  let ids: number[] | null = null;
  if ((topK > 0 && topK < n) || topP < 1) {
    ids = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[off + b] - logits[off + a] || a - b);
    if (topK > 0 && topK < n) ids = ids.slice(0, topK);
  }
  const cand = ids ?? null;
  const count = cand ? cand.length : n;
  const at = (i: number) => (cand ? cand[i] : i);
  let max = -Infinity;
  for (let i = 0; i < count; i++) max = Math.max(max, logits[off + at(i)]);
  const p = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += p[i] = Math.exp((logits[off + at(i)] - max) / temp);
  let keep = count;
  if (topP < 1) {
    let c = 0;
    for (let i = 0; i < count; i++) {
      c += p[i] / sum;
      if (c >= topP) {
        keep = i + 1;
        break;
      }
    }
    sum = 0;
    for (let i = 0; i < keep; i++) sum += p[i];
  }
  let u = options.rng.float() * sum;
  for (let i = 0; i < keep; i++) {
    u -= p[i];
    if (u < 0) return at(i);
  }
  return at(keep - 1);
}

/** log softmax of `x[off, off + n)` at index `t` (relative to `off`), accumulated in float64. */
export function logSoftmaxAt(
  x: ArrayLike<number>,
  { off, n, t }: { off: number; n: number; t: number },
): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, x[off + i]);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[off + i] - m);
  return x[off + t] - m - Math.log(s);
}
