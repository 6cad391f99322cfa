/**
 * The GRPO-family loss as a graph the model's generic LoRA training step minimizes ({@linkcode grpoLoss}), and
 * one GRPO forward+backward on a token batch ({@linkcode grpoStep}). Per token: the importance ratio (per token,
 * or per sequence for GSPO), the loss type's objective (its {@linkcode LOSS_TABLE} row), per-token multipliers
 * (top-entropy mask, sampling correction), plus β times the k3 KL to the reference; the terms are summed with
 * the host's token weights (the loss type's aggregation), minus the entropy bonus.
 * @module
 */
import {
  type CausalLM,
  type LoraAdapter,
  type LossContext,
  sequenceMeanInputs,
  type Tensors,
  type TokenBatch,
  type TrainLoss,
} from "../model/mod.ts";
import { f32, type HostTensor, i64, op, type Tensor } from "../onnx/mod.ts";
import { tokenEntropy } from "../model/mod.ts";
import { type LossType, lossTypeRow, type ObjectiveParams } from "./losses.ts";

/** The objective a GRPO graph computes: the loss type and the options that shape it beyond ε. */
export interface GrpoObjective {
  /** Its row of the loss table (default "grpo": the clipped surrogate). */
  lossType?: LossType;
  /** Two-sided clipping cap (loss types that read it; null/absent: off). */
  delta?: number | null;
  /** SAPO's gate temperature for positive advantages (default 1). */
  sapoTemperaturePos?: number;
  /** SAPO's gate temperature for non-positive advantages (default 1.05). */
  sapoTemperatureNeg?: number;
  /** GSPO: one ratio per sequence (feeds `seq_mean` and `seq_index`). */
  sequenceLevel?: boolean;
}

/** Everything that shapes a GRPO training graph (equal specs build equal graphs). */
export interface GrpoLossSpec {
  objective: GrpoObjective;
  /** KL coefficient β (0: no reference). */
  beta: number;
  epsilon: number;
  epsilonHigh: number;
  /** Feed `old_logprobs` (else the ratio is 1 with the current log-probs detached). */
  useOld: boolean;
  /** With β > 0: compute the reference log-probs in the graph (returned as `ref_logprobs_out`). */
  computeRef: boolean;
  /** Multiply the policy term by a `policy_mask` input [M]. */
  policyMask: boolean;
  /** Entropy bonus coefficient (0: off). */
  entropyCoef: number;
}

/**
 * The GRPO loss over M scored positions. Inputs it declares: `token_weights` and `advantages` [M], optional
 * `old_logprobs`, `ref_logprobs`, `seq_mean` [S, M] with `seq_index` [M], `policy_mask` and `entropy_weights`
 * [M]. With β = 0 the graph holds no reference pass at all.
 */
export function grpoLoss(spec: GrpoLossSpec): TrainLoss {
  const row = lossTypeRow(spec.objective.lossType ?? "grpo");
  const params: ObjectiveParams = {
    epsilon: spec.epsilon,
    epsilonHigh: spec.epsilonHigh,
    delta: spec.objective.delta ?? null,
    sapoTemperaturePos: spec.objective.sapoTemperaturePos ?? 1,
    sapoTemperatureNeg: spec.objective.sapoTemperatureNeg ?? 1.05,
  };
  const build = ({ graph: g, dtype, logp, logits, lse, baseLogprobs }: LossContext): Tensor => {
    const input = (name: string) => g.input(name, dtype, ["M"]);
    const w = input("token_weights");
    const adv = input("advantages");
    const on = op.greater(w, 0); // positions that enter the loss
    const detached = op.stopGradient(logp);
    const old = spec.useOld ? op.where(on, input("old_logprobs"), detached) : detached;
    let logRatio = op.sub(logp, old); // [M]
    if (spec.objective.sequenceLevel) {
      const seqMean = g.input("seq_mean", dtype, ["S", "M"]), seqIndex = g.input("seq_index", "int64", ["M"]);
      const perSeq = op.squeeze(op.matmul(seqMean, op.unsqueeze(logRatio, [-1])), [-1]); // [S]
      logRatio = op.gather(perSeq, seqIndex); // [M]
    }
    let perTok = row.objective({ logp, ratio: op.exp(logRatio), advantages: adv }, params);
    if (spec.policyMask) perTok = op.mul(perTok, input("policy_mask"));
    if (spec.beta) {
      const refIn = spec.computeRef ? baseLogprobs() : input("ref_logprobs");
      if (spec.computeRef) g.output(refIn, "ref_logprobs_out");
      const d = op.sub(op.where(on, refIn, detached), logp); // k3 estimator: e^d − d − 1
      perTok = op.add(perTok, op.mul(op.sub(op.sub(op.exp(d), d), 1), spec.beta));
    }
    const loss = op.reduceSum(op.mul(perTok, w), [0]);
    if (!spec.entropyCoef) return loss;
    const bonus = op.reduceSum(op.mul(tokenEntropy(logits!, lse!), input("entropy_weights")), [0]);
    return op.sub(loss, op.mul(bonus, spec.entropyCoef));
  };
  return { key: `grpo|${JSON.stringify(spec)}`, fullLogits: spec.entropyCoef > 0, build };
}

/**
 * What {@linkcode grpoStep} reads. `tokenWeights`, `old`, `ref`, `policyMask` and `entropyWeights` are `[B·T]`
 * in next-token alignment; `advantages` one per sequence.
 */
export interface GrpoStepInputs {
  batch: TokenBatch;
  lora: LoraAdapter;
  tokenWeights: ArrayLike<number>;
  advantages: ArrayLike<number>;
  old?: ArrayLike<number>;
  /** Reference log-probs; absent with β > 0: computed in the same graph and returned as `ref`. */
  ref?: ArrayLike<number>;
  beta: number;
  epsilon: number;
  epsilonHigh: number;
  /** The loss type and its options (default: grpo's clipped surrogate, token-level ratios). */
  objective?: GrpoObjective;
  /** Per-token multiplier of the policy term, e.g. the top-entropy mask. */
  policyMask?: ArrayLike<number>;
  /** Entropy bonus coefficient (needs `entropyWeights`). */
  entropyCoef?: number;
  /** Weights of each token's entropy in the bonus. */
  entropyWeights?: ArrayLike<number>;
}

/** What {@linkcode grpoStep} returns. */
export interface GrpoStepResult {
  loss: number;
  /** The policy's log-probs `[B·T]` (next-token aligned). */
  logprobs: Float32Array;
  /** The reference log-probs computed in the graph (when they were). */
  ref?: Float32Array;
  /** The LoRA gradients, by PEFT name. */
  grads: Tensors;
}

/**
 * One GRPO forward+backward on the model's LoRA training step: the loss, the policy's log-probs, the LoRA
 * gradients and (computed in the graph when `ref` is absent and β > 0) the reference log-probs.
 */
export async function grpoStep(model: CausalLM, x: GrpoStepInputs): Promise<GrpoStepResult> {
  const computeRef = !!x.beta && !x.ref, T = x.batch.length;
  const spec: GrpoLossSpec = {
    objective: x.objective ?? {},
    beta: x.beta,
    epsilon: x.epsilon,
    epsilonHigh: x.epsilonHigh,
    useOld: !!x.old,
    computeRef,
    policyMask: !!x.policyMask,
    entropyCoef: x.entropyCoef ?? 0,
  };
  const feeds = (positions: readonly number[]) => {
    const M = positions.length;
    const at = (v: ArrayLike<number>) => f32(Float32Array.from(positions, (i) => v[i]), [M]);
    const out: Record<string, HostTensor> = {
      token_weights: at(x.tokenWeights),
      advantages: f32(Float32Array.from(positions, (i) => x.advantages[Math.floor(i / T)]), [M]),
    };
    if (spec.useOld) out.old_logprobs = at(x.old!);
    if (spec.objective.sequenceLevel) {
      const q = sequenceMeanInputs([...positions], T);
      out.seq_mean = f32(q.seqMean, [q.sequences, M]);
      out.seq_index = i64(q.seqIndex, [M]);
    }
    if (spec.policyMask) out.policy_mask = at(x.policyMask!);
    if (spec.entropyCoef) out.entropy_weights = at(x.entropyWeights!);
    if (spec.beta && !computeRef) out.ref_logprobs = at(x.ref!);
    return out;
  };
  const res = await model.trainStep(x.batch, {
    lora: x.lora,
    loss: grpoLoss(spec),
    scored: x.tokenWeights,
    feeds,
    outputs: computeRef ? ["ref_logprobs_out"] : [],
  });
  const ref = res.outputs.ref_logprobs_out;
  return { loss: res.loss, logprobs: res.logprobs, grads: res.grads, ...(ref ? { ref } : {}) };
}
