/**
 * Per-token host arrays of a GRPO step as small pure functions on flat row-major arrays: the next-token shift
 * used by the graphs, the per-step statistics TRL logs (KL, clip ratios) and the importance-sampling
 * correction of quantized rollouts. (Token weights, how each loss type aggregates, are in `losses.ts`.)
 * @module
 */

/**
 * Moves per-token values from "token t" alignment to the graphs' "next-token" alignment: `out[b, t] =
 * x[b, t + 1]`, and 0 in the last column.
 */
export function shiftToNext(x: ArrayLike<number>, batch: number): Float64Array {
  const T = x.length / batch;
  const out = new Float64Array(x.length);
  for (let b = 0; b < batch; b++) for (let t = 0; t + 1 < T; t++) out[b * T + t] = x[b * T + t + 1];
  return out;
}

/** The inverse of {@linkcode shiftToNext}: `out[b, t] = x[b, t − 1]`, 0 in column 0. */
export function shiftFromNext(x: ArrayLike<number>, batch: number): Float64Array {
  const T = x.length / batch;
  const out = new Float64Array(x.length);
  for (let b = 0; b < batch; b++) for (let t = 1; t < T; t++) out[b * T + t] = x[b * T + t - 1];
  return out;
}

/** Statistics TRL logs for one step, from next-token-aligned arrays. */
export interface TokenStats {
  /** Mean k3 KL to the reference over completion tokens. */
  kl: number;
  /** Share of tokens clipped below (ratio < 1 − ε with A < 0). */
  clipLow: number;
  /** Share clipped above (ratio > 1 + ε_high with A > 0). */
  clipHigh: number;
  /** Share clipped either way. */
  clipRegion: number;
}

/** KL and clip statistics over the tokens where `mask` is 1 (ratios per sequence with `sequenceLevel`). */
export function tokenStats(
  arrays: {
    mask: ArrayLike<number>;
    logprobs: ArrayLike<number>;
    old?: ArrayLike<number>;
    ref?: ArrayLike<number>;
    advantages: ArrayLike<number>;
  },
  options: { batch: number; epsilon: number; epsilonHigh: number; sequenceLevel?: boolean },
): TokenStats {
  const { mask, logprobs, old, ref, advantages } = arrays;
  const T = mask.length / options.batch;
  // GSPO: every token of a row shares the exp of the row's mean log-ratio
  const seqLogRatio = new Float64Array(options.batch);
  if (old && options.sequenceLevel) {
    for (let b = 0; b < options.batch; b++) {
      let s = 0, c = 0;
      for (let t = 0; t < T; t++) if (mask[b * T + t]) s += logprobs[b * T + t] - old[b * T + t], c++;
      seqLogRatio[b] = s / Math.max(c, 1);
    }
  }
  let n = 0, kl = 0, low = 0, high = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    n++;
    if (ref) {
      const d = ref[i] - logprobs[i];
      kl += Math.exp(d) - d - 1;
    }
    const ratio = !old
      ? 1
      : options.sequenceLevel
      ? Math.exp(seqLogRatio[Math.floor(i / T)])
      : Math.exp(logprobs[i] - old[i]);
    const a = advantages[Math.floor(i / T)];
    if (ratio < 1 - options.epsilon && a < 0) low++;
    if (ratio > 1 + options.epsilonHigh && a > 0) high++;
  }
  const d = Math.max(n, 1);
  return { kl: kl / d, clipLow: low / d, clipHigh: high / d, clipRegion: (low + high) / d };
}

/** How the rollout importance-sampling ratio is applied (TRL's `vllm_importance_sampling_mode`). */
export type SamplingCorrectionMode = "token_truncate" | "token_mask" | "sequence_truncate" | "sequence_mask";

/** The accepted {@linkcode SamplingCorrectionMode} values. */
export const SAMPLING_CORRECTION_MODES: readonly SamplingCorrectionMode[] = [
  "token_truncate",
  "token_mask",
  "sequence_truncate",
  "sequence_mask",
];

/** The importance weights of one micro-batch and TRL's `sampling/*` statistics. */
export interface SamplingCorrection {
  /** `[B·T]` factor on each token's loss (1 where `mask` is 0). */
  weights: Float64Array;
  /** Ratios over the masked tokens (token modes) or the sequences (sequence modes). */
  ratioMin: number;
  ratioMean: number;
  ratioMax: number;
  /** |training − sampling| log-prob over the masked tokens. */
  diffMean: number;
  diffMax: number;
  /** How many ratios the statistics cover. */
  count: number;
}

/**
 * The importance-sampling correction for rollouts sampled by a different graph than the one trained
 * (quantized weights), as TRL's `vllm_importance_sampling_correction`: ratio `exp(train − sampling)` per
 * token, or `exp(Σ (train − sampling))` per sequence, then truncated at `cap` (`min(ratio, cap)`) or masked
 * (`0` above `cap`). The ratio is a constant (no gradient) that multiplies each token's loss.
 * @param arrays `[B·T]`, any alignment as long as all three agree
 */
export function samplingCorrection(
  arrays: { train: ArrayLike<number>; sampling: ArrayLike<number>; mask: ArrayLike<number> },
  options: { batch: number; mode: SamplingCorrectionMode; cap: number },
): SamplingCorrection {
  const { train, sampling, mask } = arrays;
  const B = options.batch, T = mask.length / B;
  const weights = new Float64Array(mask.length).fill(1);
  const perSeq = options.mode.startsWith("sequence"), trunc = options.mode.endsWith("truncate");
  const apply = (r: number) => (trunc ? Math.min(r, options.cap) : r > options.cap ? 0 : r);
  let n = 0, dSum = 0, dMax = 0, rN = 0, rSum = 0, rMin = Infinity, rMax = -Infinity;
  const note = (r: number) => {
    rN++;
    rSum += r;
    rMin = Math.min(rMin, r);
    rMax = Math.max(rMax, r);
  };
  for (let b = 0; b < B; b++) {
    let seq = 0, any = false;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (!mask[i]) continue;
      const d = train[i] - sampling[i];
      n++;
      dSum += Math.abs(d);
      dMax = Math.max(dMax, Math.abs(d));
      seq += d;
      any = true;
      if (!perSeq) note(weights[i] = apply(Math.exp(d)));
    }
    if (perSeq && any) {
      const r = apply(Math.exp(seq));
      note(r);
      for (let t = 0; t < T; t++) if (mask[b * T + t]) weights[b * T + t] = r;
    }
  }
  return {
    weights,
    ratioMin: rN ? rMin : 1,
    ratioMean: rN ? rSum / rN : 1,
    ratioMax: rN ? rMax : 1,
    diffMean: n ? dSum / n : 0,
    diffMax: dMax,
    count: rN,
  };
}
