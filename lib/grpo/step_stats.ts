/**
 * The statistics of one optimizer step, summed over its micro-batches ({@linkcode StepStats}): mean KL to the
 * reference, clip ratios, rollout-time entropy, and TRL's `sampling/*` statistics of the importance-sampling
 * correction of quantized rollouts.
 * @module
 */
import type { GrpoConfig } from "./config_table.ts";
import type { MicroBatch } from "./rollout.ts";
import { type SamplingCorrection, shiftToNext, tokenStats } from "./token_stats.ts";

/** The token statistics of one step. */
export interface StepStatsResult {
  /** Mean k3 KL to the reference over completion tokens (null when beta = 0). */
  kl: number | null;
  /** Mean policy entropy over completion tokens at rollout time (null without the policy pass). */
  entropy: number | null;
  /** Share of tokens clipped below (TRL clip_ratio/low_mean). */
  clipLow: number;
  /** Share clipped above (clip_ratio/high_mean). */
  clipHigh: number;
  /** Share clipped either way (clip_ratio/region_mean). */
  clipRegion: number;
  /** TRL's `sampling/*` statistics when quantized rollouts were corrected (else absent). */
  sampling?: { ratioMin: number; ratioMean: number; ratioMax: number; diffMean: number; diffMax: number };
}

/** Sums the token statistics of a step's micro-batches, weighted by their completion tokens. */
export class StepStats {
  #cfg: GrpoConfig;
  #n = 0;
  #kl = 0;
  #low = 0;
  #high = 0;
  #region = 0;
  #ent = 0;
  #entN = 0;
  #is = { n: 0, sum: 0, min: Infinity, max: -Infinity, tokens: 0, dSum: 0, dMax: 0 };

  /** Statistics under `cfg`'s ε, ε_high, β and importance-sampling level. */
  constructor(cfg: GrpoConfig) {
    this.#cfg = cfg;
  }

  /**
   * Adds one micro-batch: the policy's log-probs from its training pass (`[B·T]`, next-token aligned), the old
   * policy's when ratios are taken, and its sampling correction (quantized rollouts).
   */
  add(
    mb: MicroBatch,
    o: { logprobs: ArrayLike<number>; old?: ArrayLike<number>; correction?: SamplingCorrection },
  ) {
    const cfg = this.#cfg, B = mb.batch.batch;
    const mask = shiftToNext(mb.completionMask, B);
    let count = 0;
    for (const v of mask) count += v;
    const c = o.correction;
    if (c) {
      const is = this.#is;
      is.n += c.count;
      is.sum += c.ratioMean * c.count;
      if (c.count) is.min = Math.min(is.min, c.ratioMin), is.max = Math.max(is.max, c.ratioMax);
      is.tokens += count;
      is.dSum += c.diffMean * count;
      is.dMax = Math.max(is.dMax, c.diffMax);
    }
    const st = tokenStats(
      { mask, logprobs: o.logprobs, old: o.old, ref: mb.ref, advantages: mb.advantages },
      {
        batch: B,
        epsilon: cfg.epsilon,
        epsilonHigh: cfg.epsilon_high ?? cfg.epsilon,
        sequenceLevel: cfg.importance_sampling_level === "sequence",
      },
    );
    this.#kl += st.kl * count;
    this.#low += st.clipLow * count;
    this.#high += st.clipHigh * count;
    this.#region += st.clipRegion * count;
    this.#n += count;
    if (mb.entropy) {
      for (let i = 0; i < mask.length; i++) if (mask[i]) this.#ent += mb.entropy[i], this.#entN++;
    }
  }

  /** The step's statistics over the micro-batches added. */
  result(): StepStatsResult {
    const d = Math.max(this.#n, 1), is = this.#is;
    const out: StepStatsResult = {
      kl: this.#cfg.beta > 0 ? this.#kl / d : null,
      entropy: this.#entN ? this.#ent / this.#entN : null,
      clipLow: this.#low / d,
      clipHigh: this.#high / d,
      clipRegion: this.#region / d,
    };
    if (!is.n) return out;
    return {
      ...out,
      sampling: {
        ratioMin: is.min,
        ratioMean: is.sum / is.n,
        ratioMax: is.max,
        diffMean: is.dSum / Math.max(is.tokens, 1),
        diffMax: is.dMax,
      },
    };
  }
}
