/**
 * The per-token GRPO-family policy objective as one graph function ({@linkcode perTokenPolicyLoss}): the
 * importance ratio (per token, or per sequence for GSPO), then the clipped surrogate (with optional
 * two-sided clipping `delta`), CISPO's clipped and detached IS weight, or SAPO's soft gate. Every
 * per-token term of the loss (masks, later multipliers) is applied here, in one place; aggregation over
 * tokens is the caller's per-token weights. Definitions follow TRL's `GRPOTrainer` (1.x) and
 * `shared/oracle/grpo_reference.py`.
 * @module
 */
import type { Tensor } from "../onnx/graph.ts";
import * as op from "../onnx/ops.ts";
import { clamp } from "../onnx/composites.ts";

/** The policy objective: the clipped surrogate (grpo/bnpo/dr_grpo/dapo), CISPO or SAPO. */
export type PolicyObjective = "clip" | "cispo" | "sapo";

/** Hyper-parameters of {@linkcode perTokenPolicyLoss}. */
export interface PolicyLossOptions {
  /** Which objective (default "clip"). */
  objective?: PolicyObjective;
  /** Lower clip ε. */
  epsilon: number;
  /** Upper clip ε_high; for CISPO the cap on the ratio itself. */
  epsilonHigh: number;
  /** Two-sided clipping: the unclipped ratio capped at delta (clip objective only; null/undefined = off). */
  delta?: number | null;
  /** SAPO's gate temperature for positive advantages (default 1). */
  sapoTemperaturePos?: number;
  /** SAPO's gate temperature for non-positive advantages (default 1.05). */
  sapoTemperatureNeg?: number;
  /** GSPO: one ratio per sequence (feeds `seq_mean` and `seq_index`). */
  sequenceLevel?: boolean;
}

/** The tensors {@linkcode perTokenPolicyLoss} reads, all over the M scored positions. */
export interface PolicyLossInputs {
  /** Current log-probs [M] (carry the gradient). */
  logp: Tensor;
  /** Old log-probs [M] (no gradient). */
  old: Tensor;
  /** Each position's sequence advantage [M]. */
  advantages: Tensor;
  /** GSPO only: [S, M] row s holds 1/n_s on the n_s loss positions of sequence s. */
  seqMean?: Tensor;
  /** GSPO only: [M] int64, the sequence (row of `seqMean`) of each position. */
  seqIndex?: Tensor;
  /** Per-token multipliers of the policy term [M] (e.g. the top-entropy mask), applied in order. */
  multipliers?: Tensor[];
}

/**
 * The per-token policy loss [M] before aggregation (no KL, no entropy bonus):
 * - clip: `−min(r·A, clip(r, 1−ε, 1+ε_high)·A)`, with `r` capped at `delta` when set;
 * - cispo: `−stopgrad(min(r, ε_high))·A·logp`;
 * - sapo: `−sigmoid(τ(r−1))·4/τ·A`, τ = the positive or negative temperature by the sign of A.
 * `r = exp(logp − old)`, or with `sequenceLevel` the exp of the sequence's mean log-ratio.
 */
export function perTokenPolicyLoss(x: PolicyLossInputs, o: PolicyLossOptions): Tensor {
  let logRatio = op.sub(x.logp, x.old); // [M]
  if (o.sequenceLevel) {
    if (!x.seqMean || !x.seqIndex) throw new Error("sequence-level ratios need seqMean and seqIndex");
    const perSeq = op.squeeze(op.matmul(x.seqMean, op.unsqueeze(logRatio, [-1])), [-1]); // [S]
    logRatio = op.gather(perSeq, x.seqIndex); // [M]
  }
  const ratio = op.exp(logRatio);
  const adv = x.advantages;
  let perTok: Tensor;
  switch (o.objective ?? "clip") {
    case "cispo": {
      const w = op.stopGradient(op.minimum(ratio, o.epsilonHigh));
      perTok = op.neg(op.mul(op.mul(w, adv), x.logp));
      break;
    }
    case "sapo": {
      const pos = o.sapoTemperaturePos ?? 1, neg = o.sapoTemperatureNeg ?? 1.05;
      const positive = op.greater(adv, 0);
      const tau = op.where(positive, adv.graph.scalar(adv.dtype, pos), neg); // [M]
      const gate = op.sigmoid(op.mul(tau, op.sub(ratio, 1)));
      perTok = op.neg(op.mul(op.div(op.mul(gate, 4), tau), adv));
      break;
    }
    case "clip": {
      const clipped = clamp(ratio, 1 - o.epsilon, 1 + o.epsilonHigh);
      const r = o.delta !== undefined && o.delta !== null ? op.minimum(ratio, o.delta) : ratio;
      perTok = op.neg(op.minimum(op.mul(r, adv), op.mul(clipped, adv)));
      break;
    }
  }
  for (const m of x.multipliers ?? []) perTok = op.mul(perTok, m);
  return perTok;
}

/**
 * Per-position entropy of the next-token distribution, with its gradient: `lse − Σ softmax·logits`.
 * @param logits [M, V]
 * @param lse [M] logsumexp of the logits
 */
export function tokenEntropy(logits: Tensor, lse: Tensor): Tensor {
  const probs = op.exp(op.sub(logits, op.unsqueeze(lse, [-1])));
  return op.sub(lse, op.reduceSum(op.mul(probs, logits), [-1]));
}
