/**
 * The reward-function contract shared by every reward.
 * @module
 */
import { ensure } from "../util/errors.ts";

/** What a reward sees for one batch: parallel arrays, one entry per completion. */
export interface RewardContext {
  /** The prompts (rendered text) the completions answer. */
  prompts: string[];
  /** The sampled completions. */
  completions: string[];
  /** Gold answers (math), parallel to `completions`. */
  answers?: string[];
  /** Reference responses (dialogue), parallel to `completions`. */
  references?: string[];
}

/**
 * A reward: one score per completion; `null` means "not applicable to this completion" (as in TRL):
 * the reward is skipped for that completion (left out of sums, means and stds).
 */
export type RewardFn = (ctx: RewardContext) => (number | null)[] | Promise<(number | null)[]>;

/** A named reward; names are unique within one run (they key the logs). */
export interface RewardFunction {
  /** Log name, e.g. `"math_hard"`. */
  name: string;
  /** The scoring function. */
  fn: RewardFn;
}

/** Checks that `ctx.prompts` and an optional parallel field match `ctx.completions` in length. */
export function checkContext(ctx: RewardContext, reward: string, field?: "answers" | "references"): void {
  const n = ctx.completions.length;
  ensure(ctx.prompts.length === n, `reward "${reward}": ${ctx.prompts.length} prompts for ${n} completions`);
  if (!field) return;
  const v = ctx[field];
  ensure(v !== undefined, `reward "${reward}" needs ctx.${field}`);
  ensure(v.length === n, `reward "${reward}": ${v.length} ${field} for ${n} completions`);
}
