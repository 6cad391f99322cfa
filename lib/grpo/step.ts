/**
 * One optimizer step on a batch of rollouts: per micro-batch token weights (the loss type's aggregation with
 * the accumulated batch's sequence and token counts, shifted to next-token alignment), `grpoStep` for the loss
 * and LoRA gradients, gradients summed over micro-batches, global-norm clipping, and AdamW on the LoRA
 * tensors. The per-step token statistics (KL, clip ratios, entropy, sampling) are summed in `step_stats.ts`.
 * @module
 */
import {
  type AdamWState,
  adamwStep,
  type CausalLM,
  clipGradNorm,
  type LoraAdapter,
  type Tensors,
} from "../model/mod.ts";
import type { GrpoConfig } from "./config_table.ts";
import { entropyWeights, tokenWeights } from "./losses.ts";
import { type GrpoObjective, grpoStep } from "./loss_graph.ts";
import { entropyMask } from "./objective.ts";
import type { MicroBatch, RolloutBatch } from "./rollout.ts";
import { StepStats, type StepStatsResult } from "./step_stats.ts";
import { type SamplingCorrection, samplingCorrection, shiftToNext } from "./token_stats.ts";

/** What one optimizer step measured. */
export interface StepResult extends StepStatsResult {
  /** The accumulated loss (equal to the full-batch loss). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Sums `add` into `acc` (copying on first use). */
export function accumulateGrads(acc: Tensors, add: Tensors): void {
  for (const [k, g] of add) {
    const a = acc.get(k);
    if (!a) acc.set(k, { data: Float32Array.from(g.data) });
    else for (let i = 0; i < a.data.length; i++) a.data[i] += g.data[i];
  }
}

/** The objective of a config: its loss type and the options that shape it beyond ε. */
export function objectiveOf(cfg: GrpoConfig): GrpoObjective {
  return {
    lossType: cfg.loss_type,
    delta: cfg.delta,
    sapoTemperaturePos: cfg.sapo_temperature_pos,
    sapoTemperatureNeg: cfg.sapo_temperature_neg,
    sequenceLevel: cfg.importance_sampling_level === "sequence",
  };
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
  objective: GrpoObjective;
  policyMask?: Float64Array;
  entropyCoef?: number;
  entropyWeights?: Float64Array;
  correction?: SamplingCorrection;
} {
  const cfg = o.config, B = mb.batch.batch;
  const objective = objectiveOf(cfg);
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

/** Sequences and loss tokens of the whole accumulated batch (what the aggregations divide by). */
export function batchCounts(rollouts: RolloutBatch): { globalSequences: number; globalTokens: number } {
  let globalTokens = 0, globalSequences = 0;
  for (const mb of rollouts.micro) {
    globalSequences += mb.batch.batch;
    for (const v of mb.completionMask) globalTokens += v;
  }
  return { globalSequences, globalTokens };
}

/**
 * Loss and summed LoRA gradients of the rollouts, without updating anything. With num_iterations > 1 the
 * rollout-time log-probs are the old policy.
 */
export async function lossAndGrads(
  model: CausalLM,
  rollouts: RolloutBatch,
  o: { lora: LoraAdapter; config: GrpoConfig },
): Promise<{ loss: number; grads: Tensors; stats: StepStatsResult }> {
  const cfg = o.config;
  const useOld = cfg.num_iterations > 1;
  const counts = { ...batchCounts(rollouts), accumulation: rollouts.micro.length };
  const grads: Tensors = new Map();
  const stats = new StepStats(cfg);
  let loss = 0;
  for (const mb of rollouts.micro) {
    const { correction, ...extra } = objectiveInputs(mb, { config: cfg, ...counts });
    const res = await grpoStep(model, {
      ...extra,
      batch: mb.batch,
      lora: o.lora,
      tokenWeights: microBatchWeights(mb, { config: cfg, ...counts }),
      advantages: mb.advantages,
      old: useOld ? mb.old : undefined,
      ref: cfg.beta > 0 ? mb.ref : undefined,
      beta: cfg.beta,
      epsilon: cfg.epsilon,
      epsilonHigh: cfg.epsilon_high ?? cfg.epsilon,
    });
    if (!Number.isFinite(res.loss)) {
      throw new Error(`GRPO loss is ${res.loss} (diverged; lower learning_rate)`);
    }
    loss += res.loss;
    accumulateGrads(grads, res.grads);
    stats.add(mb, { logprobs: res.logprobs, old: useOld ? mb.old : undefined, correction });
  }
  return { loss, grads, stats: stats.result() };
}

/** One optimizer step: loss and gradients, clipping to `max_grad_norm`, AdamW with learning rate `lr`. */
export async function optimizerStep(
  model: CausalLM,
  rollouts: RolloutBatch,
  o: { lora: LoraAdapter; config: GrpoConfig; state: AdamWState; lr: number },
): Promise<StepResult> {
  const cfg = o.config;
  const { loss, grads, stats } = await lossAndGrads(model, rollouts, { lora: o.lora, config: cfg });
  const gradNorm = clipGradNorm(grads, cfg.max_grad_norm);
  if (!Number.isFinite(gradNorm)) {
    throw new Error(`gradient norm is ${gradNorm} (diverged; lower learning_rate)`);
  }
  adamwStep(o.lora.tensors, grads, {
    beta1: cfg.adam_beta1,
    beta2: cfg.adam_beta2,
    eps: cfg.adam_epsilon,
    weightDecay: cfg.weight_decay,
    lr: o.lr,
    state: o.state,
  });
  return { loss, gradNorm, ...stats };
}
