/**
 * One optimizer step on a batch of rollouts: per micro-batch token weights (`tokenWeights` with the
 * accumulated batch's sequence and token counts, shifted to next-token alignment), `grpoStep` for the
 * loss and LoRA gradients, gradients summed over micro-batches, global-norm clipping, and AdamW on
 * the LoRA tensors. Also the per-step token statistics (KL, clip ratios, entropy).
 * @module
 */
import type { CausalLM } from "../model/causal_lm.ts";
import type { LoraAdapter } from "../model/lora.ts";
import { type AdamWState, adamwStep, clipGradNorm, type Tensors } from "../model/adamw.ts";
import type { GrpoConfig } from "./config_table.ts";
import {
  type SamplingCorrection,
  samplingCorrection,
  shiftToNext,
  tokenStats,
  tokenWeights,
} from "./math.ts";
import { entropyMask, entropyWeights, policyObjective } from "./objective.ts";
import type { MicroBatch, RolloutBatch } from "./rollout.ts";

/** What one optimizer step measured. */
export interface StepResult {
  /** The accumulated loss (equal to the full-batch loss). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
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

/** Sums `add` into `acc` (copying on first use). */
export function accumulateGrads(acc: Tensors, add: Tensors): void {
  for (const [k, g] of add) {
    const a = acc.get(k);
    if (!a) acc.set(k, { data: Float32Array.from(g.data) });
    else for (let i = 0; i < a.data.length; i++) a.data[i] += g.data[i];
  }
}

/** The token weights one micro-batch feeds to the GRPO graph (next-token aligned). */
export function microBatchWeights(
  mb: MicroBatch,
  o: { config: GrpoConfig; globalSequences: number; globalTokens: number; accumulation: number },
): Float64Array {
  const w = tokenWeights(mb.completionMask, {
    batch: mb.batch.batch,
    lossType: o.config.loss_type,
    maxCompletionLength: o.config.max_completion_length,
    globalSequences: o.globalSequences,
    globalTokens: o.globalTokens,
    accumulation: o.accumulation,
  });
  return shiftToNext(w, mb.batch.batch);
}

/**
 * What a micro-batch feeds the GRPO graph beyond weights and advantages: the policy objective of the
 * config, the top-entropy mask (`top_entropy_quantile` < 1, from the rollout-time entropies: the current
 * policy's when num_iterations = 1, as in TRL) and the entropy-bonus weights (`entropy_coef` > 0).
 */
export function objectiveInputs(
  mb: MicroBatch,
  o: { config: GrpoConfig; globalTokens: number; accumulation: number },
): {
  objective: ReturnType<typeof policyObjective>;
  policyMask?: Float64Array;
  entropyCoef?: number;
  entropyWeights?: Float64Array;
  correction?: SamplingCorrection;
} {
  const cfg = o.config, B = mb.batch.batch;
  const objective = policyObjective({
    lossType: cfg.loss_type,
    importanceSamplingLevel: cfg.importance_sampling_level,
    delta: cfg.delta,
    sapoTemperaturePos: cfg.sapo_temperature_pos,
    sapoTemperatureNeg: cfg.sapo_temperature_neg,
  });
  const mask = shiftToNext(mb.completionMask, B);
  let entropyOnly: Float64Array | undefined;
  if (cfg.top_entropy_quantile < 1) {
    if (!mb.entropy) {
      throw new Error("top_entropy_quantile < 1 needs the rollout-time entropies (policy pass)");
    }
    entropyOnly = entropyMask(mb.entropy, mask, { quantile: cfg.top_entropy_quantile });
  }
  // quantized rollouts: the importance ratio multiplies the policy term after the entropy mask, as TRL's
  // vLLM correction does (the β·KL term is added unweighted)
  const correction = samplingCorrectionOf(mb, cfg);
  let policyMask = entropyOnly;
  if (correction) {
    policyMask = Float64Array.from(correction.weights, (w, i) => w * (entropyOnly ? entropyOnly[i] : 1));
  }
  const extra = correction ? { correction } : {};
  if (!cfg.entropy_coef) return { objective, policyMask, ...extra };
  const effective = entropyOnly ?? mask;
  return {
    objective,
    policyMask,
    ...extra,
    entropyCoef: cfg.entropy_coef,
    entropyWeights: entropyWeights(effective, {
      lossType: cfg.loss_type,
      globalTokens: o.globalTokens,
      accumulation: o.accumulation,
    }),
  };
}

/**
 * The importance-sampling correction of a micro-batch sampled by a quantized graph: ratios between the
 * training log-probs (the rollout-time policy pass) and the sampler's, per `rollout_importance_sampling_*`;
 * null when the rollouts were not quantized or the correction is off.
 */
export function samplingCorrectionOf(mb: MicroBatch, cfg: GrpoConfig): SamplingCorrection | null {
  if (!mb.sampling || !cfg.rollout_importance_sampling_correction) return null;
  if (!mb.old) throw new Error("rollout_quantization needs the rollout-time policy pass (old log-probs)");
  const B = mb.batch.batch;
  return samplingCorrection(
    { train: mb.old, sampling: mb.sampling, mask: shiftToNext(mb.completionMask, B) },
    { batch: B, mode: cfg.rollout_importance_sampling_mode, cap: cfg.rollout_importance_sampling_cap },
  );
}

/**
 * Loss and summed LoRA gradients of the rollouts, without updating anything. `useOld` feeds the
 * rollout-time log-probs as the old policy (num_iterations > 1).
 */
export async function lossAndGrads(
  model: CausalLM,
  lora: LoraAdapter,
  rollouts: RolloutBatch,
  o: { config: GrpoConfig },
): Promise<{ loss: number; grads: Tensors; stats: Omit<StepResult, "loss" | "gradNorm"> }> {
  const cfg = o.config;
  const useOld = cfg.num_iterations > 1;
  let globalTokens = 0, globalSequences = 0;
  for (const mb of rollouts.micro) {
    globalSequences += mb.batch.batch;
    for (const v of mb.completionMask) globalTokens += v;
  }
  const grads: Tensors = new Map();
  let loss = 0, n = 0, kl = 0, low = 0, high = 0, region = 0, ent = 0, entN = 0;
  const is = { n: 0, sum: 0, min: Infinity, max: -Infinity, tokens: 0, dSum: 0, dMax: 0 };
  const epsilonHigh = cfg.epsilon_high ?? cfg.epsilon;
  for (const mb of rollouts.micro) {
    const B = mb.batch.batch;
    const weights = microBatchWeights(mb, {
      config: cfg,
      globalSequences,
      globalTokens,
      accumulation: rollouts.micro.length,
    });
    const { correction: c, ...extra } = objectiveInputs(mb, {
      config: cfg,
      globalTokens,
      accumulation: rollouts.micro.length,
    });
    if (c) {
      let tok = 0;
      for (const v of shiftToNext(mb.completionMask, B)) tok += v;
      is.n += c.count;
      is.sum += c.ratioMean * c.count;
      if (c.count) is.min = Math.min(is.min, c.ratioMin), is.max = Math.max(is.max, c.ratioMax);
      is.tokens += tok;
      is.dSum += c.diffMean * tok;
      is.dMax = Math.max(is.dMax, c.diffMax);
    }
    const res = await model.grpoStep(mb.batch, {
      ...extra,
      lora,
      tokenWeights: weights,
      advantages: mb.advantages,
      old: useOld ? mb.old : undefined,
      ref: cfg.beta > 0 ? mb.ref : undefined,
      beta: cfg.beta,
      epsilon: cfg.epsilon,
      epsilonHigh,
    });
    if (!Number.isFinite(res.loss)) {
      throw new Error(`GRPO loss is ${res.loss} (diverged; lower learning_rate)`);
    }
    loss += res.loss;
    accumulateGrads(grads, res.grads);
    const mask = shiftToNext(mb.completionMask, B);
    let count = 0;
    for (const v of mask) count += v;
    const st = tokenStats(
      {
        mask,
        logprobs: res.logprobs,
        old: useOld ? mb.old : undefined,
        ref: mb.ref,
        advantages: mb.advantages,
      },
      {
        batch: B,
        epsilon: cfg.epsilon,
        epsilonHigh,
        sequenceLevel: cfg.importance_sampling_level === "sequence",
      },
    );
    kl += st.kl * count;
    low += st.clipLow * count;
    high += st.clipHigh * count;
    region += st.clipRegion * count;
    n += count;
    if (mb.entropy) {
      for (let i = 0; i < mask.length; i++) if (mask[i]) ent += mb.entropy[i], entN++;
    }
  }
  const d = Math.max(n, 1);
  return {
    loss,
    grads,
    stats: {
      kl: cfg.beta > 0 ? kl / d : null,
      entropy: entN ? ent / entN : null,
      clipLow: low / d,
      clipHigh: high / d,
      clipRegion: region / d,
      ...(is.n
        ? {
          sampling: {
            ratioMin: is.min,
            ratioMean: is.sum / is.n,
            ratioMax: is.max,
            diffMean: is.dSum / Math.max(is.tokens, 1),
            diffMax: is.dMax,
          },
        }
        : {}),
    },
  };
}

/** One optimizer step: loss and gradients, clipping to `max_grad_norm`, AdamW with learning rate `lr`. */
export async function optimizerStep(
  model: CausalLM,
  lora: LoraAdapter,
  rollouts: RolloutBatch,
  o: { config: GrpoConfig; state: AdamWState; lr: number },
): Promise<StepResult> {
  const cfg = o.config;
  const { loss, grads, stats } = await lossAndGrads(model, lora, rollouts, { config: cfg });
  const gradNorm = clipGradNorm(grads, cfg.max_grad_norm);
  if (!Number.isFinite(gradNorm)) {
    throw new Error(`gradient norm is ${gradNorm} (diverged; lower learning_rate)`);
  }
  adamwStep(lora.tensors, grads, {
    beta1: cfg.adam_beta1,
    beta2: cfg.adam_beta2,
    eps: cfg.adam_epsilon,
    weightDecay: cfg.weight_decay,
    lr: o.lr,
    state: o.state,
  });
  return { loss, gradNorm, ...stats };
}
