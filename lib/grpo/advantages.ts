/**
 * Group-relative advantages (GRPO's `(r − mean_group) / std`), as a small pure function on flat arrays; the
 * multi-reward form with "not applicable" scores is `combineRewards` in `objective.ts`.
 * @module
 */
import { mean, sampleStd } from "../util/mod.ts";

/** How rewards are scaled into advantages (TRL's `scale_rewards`). */
export type ScaleRewards = "group" | "batch" | "none";

/**
 * Group-relative advantages: `(r − mean_group) / (std + 1e-4)` with the std taken per group ("group"),
 * over the whole batch ("batch") or not at all ("none"). Std is the unbiased (n−1) estimate, as torch.std.
 * @param rewards one total reward per completion, groups of `groupSize` consecutive completions
 */
export function groupAdvantages(
  rewards: readonly number[],
  options: { groupSize: number; scale: ScaleRewards },
): { advantages: number[]; zeroStdGroups: number; groupStd: number[] } {
  const n = options.groupSize;
  if (rewards.length % n !== 0) throw new Error(`${rewards.length} rewards do not split into groups of ${n}`);
  const advantages: number[] = [], groupStd: number[] = [];
  let zeroStdGroups = 0;
  const batchStd = sampleStd(rewards);
  for (let s = 0; s < rewards.length; s += n) {
    const grp = rewards.slice(s, s + n);
    const m = mean(grp), sd = sampleStd(grp);
    groupStd.push(sd);
    if (sd < 1e-12) zeroStdGroups++;
    const div = options.scale === "group" ? sd + 1e-4 : options.scale === "batch" ? batchStd + 1e-4 : 1;
    for (const r of grp) advantages.push((r - m) / div);
  }
  return { advantages, zeroStdGroups, groupStd };
}
