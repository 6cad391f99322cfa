/**
 * Every loss type (TRL's `loss_type`), declared once: one row of {@linkcode LOSS_TABLE} per type, holding its
 * per-token objective (a graph function over the importance ratio, the advantages and the log-probs), its
 * aggregation (the per-token weights that turn per-token terms into one loss, and those of the entropy bonus),
 * the loss-scoped options it reads and the checks of their values. Everything else derives from the table: the
 * accepted `loss_type` values, {@linkcode tokenWeights}, {@linkcode checkLossOptions} (used by `resolveConfig`)
 * and the GRPO training graph (`loss_graph.ts`). Definitions follow TRL's `GRPOTrainer` (1.x) and
 * `shared/oracle/grpo_reference.py`.
 *
 * Two options cut across every row: `importance_sampling_level` (per-token ratios, or one ratio per sequence:
 * GSPO, formed before the row's objective sees it; with a token-summing aggregation it needs
 * `allow_sequence_token_sum`) and `delta` (two-sided clipping, an option of the clipped-surrogate rows only).
 *
 * A new loss type is one row here (or one {@linkcode registerLossType} call) plus its oracle case.
 * @module
 */
import { clamp, op, type Tensor } from "../onnx/mod.ts";
import { badOption } from "../util/mod.ts";
import type { ImportanceSamplingLevel } from "./objective.ts";

/** The per-token tensors an objective reads, all `[M]` over the scored positions. */
export interface ObjectiveTerms {
  /** Current log-probs (carry the gradient). */
  logp: Tensor;
  /** Importance ratio π/π_old (per token, or the sequence's for GSPO). */
  ratio: Tensor;
  /** Each position's sequence advantage. */
  advantages: Tensor;
}

/** The hyper-parameters an objective may read. */
export interface ObjectiveParams {
  /** Lower clip ε. */
  epsilon: number;
  /** Upper clip ε_high (CISPO: the cap on the ratio itself). */
  epsilonHigh: number;
  /** Two-sided clipping cap (null: off). */
  delta: number | null;
  /** SAPO gate temperature for positive advantages. */
  sapoTemperaturePos: number;
  /** SAPO gate temperature for non-positive advantages. */
  sapoTemperatureNeg: number;
}

/** A per-token policy objective: the `[M]` loss terms before aggregation (no KL, no entropy bonus). */
export type PerTokenObjective = (x: ObjectiveTerms, p: ObjectiveParams) => Tensor;

/** Counts one micro-batch's token weights are computed from. */
export interface WeightCounts {
  /** Loss tokens of this sequence. */
  sequenceTokens: number;
  /** Loss tokens of this micro-batch. */
  microTokens: number;
  /** Sequences of the whole accumulated batch. */
  globalSequences: number;
  /** Loss tokens of the whole accumulated batch. */
  globalTokens: number;
  /** Micro-batches accumulated into one update. */
  accumulation: number;
  /** `max_completion_length`. */
  maxCompletionLength: number;
}

/** How per-token terms become one loss: `loss = Σ weight · term`. */
export interface Aggregation {
  /** What the aggregation computes, in words. */
  help: string;
  /** The weight of each loss token of a sequence. */
  weight: (c: WeightCounts) => number;
  /** The weight of each token's entropy in the entropy bonus (`effectiveTokens`: the micro-batch's). */
  entropyWeight: (c: { effectiveTokens: number; globalTokens: number; accumulation: number }) => number;
  /** Sums terms over tokens, so longer sequences weigh more (not GSPO's objective with sequence ratios). */
  tokenSum: boolean;
}

const microMean = (c: { effectiveTokens: number; accumulation: number }) =>
  1 / Math.max(c.effectiveTokens, 1) / c.accumulation;

/** The aggregations TRL's loss types use. */
export const AGGREGATIONS = Object.freeze(
  {
    sequence_mean: {
      help: "mean over sequences of each sequence's token mean",
      weight: (c) => 1 / Math.max(c.sequenceTokens, 1) / c.globalSequences,
      entropyWeight: microMean,
      tokenSum: false,
    },
    micro_token_mean: {
      help: "token mean over each micro-batch",
      weight: (c) => 1 / Math.max(c.microTokens, 1) / c.accumulation,
      entropyWeight: microMean,
      tokenSum: true,
    },
    global_token_mean: {
      help: "token mean over the whole accumulated batch",
      weight: (c) => 1 / Math.max(c.globalTokens, 1),
      entropyWeight: (c) => 1 / Math.max(c.globalTokens, 1),
      tokenSum: true,
    },
    fixed_length: {
      help: "token sum over sequences · max_completion_length",
      weight: (c) => 1 / (c.globalSequences * c.maxCompletionLength),
      entropyWeight: microMean,
      tokenSum: true,
    },
  } satisfies Record<string, Aggregation>,
);

/** The clipped surrogate `−min(r·A, clip(r, 1−ε, 1+ε_high)·A)`, with `r` capped at `delta` when set. */
export const clippedSurrogate: PerTokenObjective = ({ ratio, advantages: adv }, p) => {
  const clipped = clamp(ratio, 1 - p.epsilon, 1 + p.epsilonHigh);
  const r = p.delta !== null ? op.minimum(ratio, p.delta) : ratio;
  return op.neg(op.minimum(op.mul(r, adv), op.mul(clipped, adv)));
};

/** CISPO: `−stopgrad(min(r, ε_high))·A·logp`. */
export const cispoObjective: PerTokenObjective = ({ logp, ratio, advantages: adv }, p) => {
  const w = op.stopGradient(op.minimum(ratio, p.epsilonHigh));
  return op.neg(op.mul(op.mul(w, adv), logp));
};

/** SAPO: `−sigmoid(τ(r−1))·4/τ·A`, τ the positive or negative temperature by the sign of A. */
export const sapoObjective: PerTokenObjective = ({ ratio, advantages: adv }, p) => {
  const tau = op.where(
    op.greater(adv, 0),
    adv.graph.scalar(adv.dtype, p.sapoTemperaturePos),
    p.sapoTemperatureNeg,
  );
  const gate = op.sigmoid(op.mul(tau, op.sub(ratio, 1)));
  return op.neg(op.mul(op.div(op.mul(gate, 4), tau), adv));
};

/** The options that belong to some loss types only (each must stay at its default with the others). */
export const LOSS_SCOPED_OPTIONS = ["delta", "sapo_temperature_pos", "sapo_temperature_neg"] as const;

/** One of {@linkcode LOSS_SCOPED_OPTIONS}. */
export type LossScopedOption = typeof LOSS_SCOPED_OPTIONS[number];

/** The option values the loss checks read (a `GrpoConfig` satisfies it). */
export interface LossOptionValues {
  loss_type: string;
  epsilon: number;
  epsilon_high: number | null;
  delta: number | null;
  sapo_temperature_pos: number;
  sapo_temperature_neg: number;
  importance_sampling_level: ImportanceSamplingLevel;
  allow_sequence_token_sum: boolean;
}

/** One loss type. */
export interface LossTypeRow {
  /** One line for the docs. */
  help: string;
  /** Its per-token objective. */
  objective: PerTokenObjective;
  /** Its aggregation (usually one of {@linkcode AGGREGATIONS}). */
  aggregation: Aggregation;
  /** The loss-scoped options it reads. */
  options: readonly LossScopedOption[];
  /** Checks of its options' values (a one-line `UserError` naming the option). */
  check?: (o: LossOptionValues) => void;
}

const epsHighOf = (o: LossOptionValues) => o.epsilon_high ?? o.epsilon;

const clipRow = (aggregation: Aggregation, help: string): LossTypeRow => ({
  help,
  objective: clippedSurrogate,
  aggregation,
  options: ["delta"],
  check: (o) => {
    if (o.delta !== null && o.delta <= 1 + epsHighOf(o)) {
      throw badOption("delta", {
        value: o.delta,
        why: `must be > 1 + epsilon_high (${1 + epsHighOf(o)}), as TRL recommends`,
      });
    }
  },
});

/** TRL's loss types, one row each (in `--help` order). */
const TRL_LOSS_TYPES = {
  grpo: clipRow(AGGREGATIONS.sequence_mean, "clipped surrogate, mean of per-sequence token means"),
  bnpo: clipRow(AGGREGATIONS.micro_token_mean, "clipped surrogate, token mean per micro-batch"),
  dr_grpo: clipRow(AGGREGATIONS.fixed_length, "clipped surrogate, token sum / (sequences · max length)"),
  dapo: clipRow(AGGREGATIONS.global_token_mean, "clipped surrogate, token mean over the accumulated batch"),
  cispo: {
    help: "clipped, detached IS weight times log-prob; token mean over the accumulated batch",
    objective: cispoObjective,
    aggregation: AGGREGATIONS.global_token_mean,
    options: [],
    check: (o) => {
      if (epsHighOf(o) < 1) {
        throw badOption("epsilon_high", {
          value: o.epsilon_high,
          why: `with loss_type "cispo" it caps the ratio itself and must be ≥ 1 (ScaleRL/TRL recommend 5.0)`,
        });
      }
    },
  },
  sapo: {
    help: "soft sigmoid gate instead of clipping, mean of per-sequence token means",
    objective: sapoObjective,
    aggregation: AGGREGATIONS.sequence_mean,
    options: ["sapo_temperature_pos", "sapo_temperature_neg"],
  },
} satisfies Record<string, LossTypeRow>;

/** The loss types declared in the table (`loss_type` values; {@linkcode registerLossType} adds others). */
export type LossType = keyof typeof TRL_LOSS_TYPES;

/** The loss types, one row each: TRL's, plus any added with {@linkcode registerLossType}. */
export const LOSS_TABLE: Record<string, LossTypeRow> = { ...TRL_LOSS_TYPES };

/** The accepted `loss_type` values: the table's rows, kept in step by {@linkcode registerLossType}. */
export const LOSS_TYPES: readonly LossType[] = Object.keys(LOSS_TABLE) as LossType[];

/**
 * Adds a loss type row (the one extension point besides editing {@linkcode LOSS_TABLE}); after it,
 * `loss_type = name` is accepted everywhere. A name already in the table → Error.
 */
export function registerLossType(name: string, row: LossTypeRow): void {
  if (Object.hasOwn(LOSS_TABLE, name)) throw new Error(`loss type "${name}" is already in the table`);
  LOSS_TABLE[name] = row;
  (LOSS_TYPES as string[]).push(name);
}

/** The row of `lossType` (unknown → Error; configs are checked before this). */
export function lossTypeRow(lossType: string): LossTypeRow {
  const row = Object.hasOwn(LOSS_TABLE, lossType) ? LOSS_TABLE[lossType] : undefined;
  if (!row) throw new Error(`unknown loss_type "${lossType}"; known: ${LOSS_TYPES.join(", ")}`);
  return row;
}

/** Loss types whose aggregation sums per-token terms over tokens (length-weighting each sequence). */
export function tokenSumLossTypes(): LossType[] {
  return LOSS_TYPES.filter((t) => LOSS_TABLE[t].aggregation.tokenSum);
}

/**
 * The checks a loss type puts on the options (each a one-line UserError naming the option): loss-scoped
 * options the row does not read must stay at their defaults, the row's own checks, and sequence-level ratios
 * with a token-summing aggregation only with `allow_sequence_token_sum`.
 */
export function checkLossOptions(
  values: LossOptionValues,
  o: { isDefault: (option: LossScopedOption) => boolean },
): void {
  const lt = values.loss_type, row = lossTypeRow(lt);
  for (const k of LOSS_SCOPED_OPTIONS) {
    if (row.options.includes(k) || o.isDefault(k)) continue;
    const users = LOSS_TYPES.filter((t) => LOSS_TABLE[t].options.includes(k));
    const why = users.length === 1
      ? `only applies to loss_type "${users[0]}" (loss_type is "${lt}")`
      : `has no effect with loss_type "${lt}" (only ${users.join(", ")})`;
    throw badOption(k, { value: values[k], why });
  }
  row.check?.(values);
  if (
    values.importance_sampling_level === "sequence" && row.aggregation.tokenSum &&
    !values.allow_sequence_token_sum
  ) {
    throw badOption("importance_sampling_level", {
      value: "sequence",
      why:
        `with loss_type "${lt}" weights each sequence by its length, not GSPO's objective: use loss_type "grpo" or "sapo", or set allow_sequence_token_sum = true`,
    });
  }
}

/**
 * Per-token loss weights `[B, T]` such that `loss = Σ weight · per_token_loss` equals TRL's aggregation of
 * `lossType` (its row's {@linkcode Aggregation}). With gradient accumulation, `globalSequences` and
 * `globalTokens` count the whole accumulated batch so the accumulated gradient is the full-batch gradient
 * (defaults: this micro-batch times `accumulation`).
 * @param mask [B, T] 1 on completion tokens that enter the loss
 */
export function tokenWeights(
  mask: ArrayLike<number>,
  options: {
    batch: number;
    lossType: LossType;
    maxCompletionLength: number;
    globalSequences?: number;
    globalTokens?: number;
    /** Micro-batches accumulated into one update. */
    accumulation?: number;
  },
): Float64Array {
  const B = options.batch, T = mask.length / B;
  const accumulation = options.accumulation ?? 1;
  const { weight } = lossTypeRow(options.lossType).aggregation;
  const out = new Float64Array(mask.length);
  let microTokens = 0;
  for (let i = 0; i < mask.length; i++) microTokens += mask[i] ? 1 : 0;
  const counts = {
    microTokens,
    accumulation,
    maxCompletionLength: options.maxCompletionLength,
    globalSequences: options.globalSequences ?? B * accumulation,
    globalTokens: options.globalTokens ?? microTokens * accumulation,
  };
  for (let b = 0; b < B; b++) {
    let sequenceTokens = 0;
    for (let t = 0; t < T; t++) sequenceTokens += mask[b * T + t] ? 1 : 0;
    const w = weight({ ...counts, sequenceTokens });
    for (let t = 0; t < T; t++) out[b * T + t] = mask[b * T + t] ? w : 0;
  }
  return out;
}

/**
 * Per-token weights of the entropy bonus (TRL: the bonus is the mean per-token entropy over the effective
 * mask, whatever the loss type), from the loss type's aggregation: for dapo/cispo the micro-batch's entropy
 * sum over the global token count; otherwise the micro-batch mean over `accumulation` micro-batches.
 * @param effective [B·T] the loss mask times the entropy mask
 */
export function entropyWeights(
  effective: ArrayLike<number>,
  o: { lossType: LossType; globalTokens: number; accumulation: number },
): Float64Array {
  let effectiveTokens = 0;
  for (let i = 0; i < effective.length; i++) effectiveTokens += effective[i] ? 1 : 0;
  const w = lossTypeRow(o.lossType).aggregation.entropyWeight({ ...o, effectiveTokens });
  return Float64Array.from(effective, (m) => (m ? w : 0));
}
