/**
 * The newer parts of TRL's GRPO objective that are not a loss type (those are rows of `losses.ts`), as small
 * pure functions: the top-entropy token mask ({@linkcode entropyMask}), multi-reward aggregation with "not
 * applicable" (null) scores ({@linkcode combineRewards}, GDPO's `normalize_then_sum`), and the group filter
 * of DAPO's dynamic sampling ({@linkcode groupsWithSpread}).
 * @module
 */
import { groupAdvantages, type ScaleRewards } from "./advantages.ts";

/** How rewards of several functions become one advantage (TRL's `multi_objective_aggregation`). */
export type MultiObjectiveAggregation = "sum_then_normalize" | "normalize_then_sum";

/** The accepted `multi_objective_aggregation` values. */
export const MULTI_OBJECTIVE_AGGREGATIONS: readonly MultiObjectiveAggregation[] = [
  "sum_then_normalize",
  "normalize_then_sum",
];

/** Where the importance ratio is taken (TRL's `importance_sampling_level`; "sequence" is GSPO). */
export type ImportanceSamplingLevel = "token" | "sequence";

/** The accepted `importance_sampling_level` values. */
export const IMPORTANCE_SAMPLING_LEVELS: readonly ImportanceSamplingLevel[] = ["token", "sequence"];

/** torch.quantile's default (linear interpolation between order statistics). */
export function quantile(values: readonly number[], q: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1), lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * TRL's `top_entropy_quantile` mask: 1 on the tokens of `mask` whose entropy is at least the
 * (1 − q)-quantile of the entropies over `mask`, 0 elsewhere. q = 1 keeps every token; q = 0 keeps
 * only the highest-entropy token(s).
 */
export function entropyMask(
  entropy: ArrayLike<number>,
  mask: ArrayLike<number>,
  o: { quantile: number },
): Float64Array {
  const on: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) on.push(entropy[i]);
  const out = new Float64Array(mask.length);
  if (!on.length) return out;
  const threshold = quantile(on, 1 - o.quantile);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] && entropy[i] >= threshold ? 1 : 0;
  return out;
}

function nanMean(xs: readonly number[]): number {
  const v = xs.filter((x) => !Number.isNaN(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

/** Unbiased std over the non-NaN values (NaN with fewer than two: TRL's nanstd). */
function nanStd(xs: readonly number[]): number {
  const v = xs.filter((x) => !Number.isNaN(x));
  if (v.length < 2) return NaN;
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

const isZero = (s: number) => Number.isNaN(s) || Math.abs(s) <= 1e-8; // torch.isclose(std, 0)

/** What {@linkcode combineRewards} returns. */
export interface CombinedRewards {
  /** Weighted sum per completion over the functions that applied (NaN when none did). */
  total: number[];
  /** One advantage per completion (0 for unscorable ones). */
  advantages: number[];
  /** Per-group std of `total` (NaN-aware). */
  groupStd: number[];
  /** Groups whose reward spread is zero (no learning signal). */
  zeroStdGroups: number;
  /** Share of completions whose advantage scale is zero (TRL's `frac_reward_zero_std`). */
  fracZeroStd: number;
  /** Completions every function skipped (null everywhere). */
  unscorable: number;
}

/**
 * Rewards of several functions → advantages, as TRL does: a null score means "not applicable" and is
 * left out (nan-aware sums, means and stds); a completion no function scored gets advantage 0.
 * "sum_then_normalize" weights and sums, then scales per `scale`; "normalize_then_sum" (GDPO) normalizes
 * each function within its group, sums with weights, then normalizes over the batch.
 * @param perFunction one array per function, one score (or null) per completion
 */
export function combineRewards(
  perFunction: readonly (readonly (number | null)[])[],
  o: {
    weights: readonly number[];
    groupSize: number;
    scale: ScaleRewards;
    aggregation: MultiObjectiveAggregation;
  },
): CombinedRewards {
  const n = perFunction[0]?.length ?? 0, G = o.groupSize;
  const val = (k: number, i: number) => perFunction[k][i] ?? NaN;
  const unscorableRow = (i: number) => perFunction.every((f) => f[i] === null);
  const weightedSum = (score: (k: number, i: number) => number) =>
    Array.from({ length: n }, (_, i) => {
      if (unscorableRow(i)) return NaN;
      let t = 0;
      for (let k = 0; k < perFunction.length; k++) {
        const v = score(k, i);
        if (!Number.isNaN(v)) t += o.weights[k] * v;
      }
      return t;
    });
  const total = weightedSum(val);
  const groups = (xs: number[]) => Array.from({ length: n / G }, (_, g) => xs.slice(g * G, (g + 1) * G));
  const groupStd = groups(total).map(nanStd);
  const zeroStdGroups = groupStd.filter(isZero).length;
  const unscorable = total.filter(Number.isNaN).length;
  if (o.aggregation === "sum_then_normalize" && !unscorable && perFunction.every((f) => !f.includes(null))) {
    const a = groupAdvantages(total, { groupSize: G, scale: o.scale });
    const batchZero = o.scale === "batch" && isZero(nanStd(total));
    const fracZeroStd = o.scale === "batch" ? (batchZero ? 1 : 0) : zeroStdGroups / Math.max(1, n / G);
    return { total, advantages: a.advantages, groupStd, zeroStdGroups, fracZeroStd, unscorable };
  }
  let advantages: number[], zeroStd: boolean[];
  if (o.aggregation === "sum_then_normalize") {
    const batchStd = nanStd(total);
    advantages = [], zeroStd = [];
    groups(total).forEach((grp, g) => {
      const m = nanMean(grp), sd = o.scale === "batch" ? batchStd : groupStd[g];
      for (const r of grp) {
        advantages.push(o.scale === "none" ? r - m : (r - m) / (sd + 1e-4));
        zeroStd.push(isZero(sd));
      }
    });
  } else {
    const norm = perFunction.map((_, k) => {
      const col = Array.from({ length: n }, (_, i) => val(k, i));
      return groups(col).flatMap((grp) => {
        const m = nanMean(grp), sd = nanStd(grp);
        return grp.map((x) => (x - m) / (sd + 1e-4));
      });
    });
    const summed = weightedSum((k, i) => norm[k][i]);
    const m = nanMean(summed), sd = nanStd(summed);
    advantages = summed.map((r) => (r - m) / (sd + 1e-4));
    zeroStd = summed.map(() => isZero(sd));
  }
  advantages = advantages.map((a) => (Number.isNaN(a) ? 0 : a));
  const fracZeroStd = zeroStd.filter(Boolean).length / Math.max(1, n);
  return { total, advantages, groupStd, zeroStdGroups, fracZeroStd, unscorable };
}

/** Dynamic sampling's filter: indices of the groups whose reward spread is not zero. */
export function groupsWithSpread(groupStd: readonly number[]): number[] {
  return groupStd.flatMap((s, g) => (isZero(s) ? [] : [g]));
}
