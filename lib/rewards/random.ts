/**
 * The random-reward control ("Spurious Rewards", Shao et al. 2025): each completion gets 2 points with
 * probability ½, independent of what it says. Draws are seeded and stateless: a hash of the seed, the prompt,
 * the completion and its position in the batch, so a resumed run sees the same rewards as an uninterrupted one.
 * A reward structure's effect is its effect beyond this control.
 * @module
 */
import { checkContext, type RewardContext, type RewardFunction } from "./types.ts";

/** Points of a "won" draw (the scale of `math_hard`). */
export const RANDOM_REWARD_POINTS = 2.0;

/** 53-bit string hash (cyrb53), used as a stateless uniform draw. */
function hash53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed, h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 2097152 * (h2 >>> 0) + (h1 >>> 11);
}

/** Options of {@linkcode randomReward}. */
export interface RandomRewardOptions {
  /** Seed of the draws (a run passes its `seed`). */
  seed: number;
  /** Probability of a win (default 0.5). */
  p?: number;
}

/** The `random` reward: {@linkcode RANDOM_REWARD_POINTS} with probability `p`, else 0, per completion. */
export function randomReward(options: RandomRewardOptions): RewardFunction {
  const p = options.p ?? 0.5;
  return {
    name: "random",
    fn: (ctx: RewardContext) => {
      checkContext(ctx, { reward: "random" });
      return ctx.completions.map((c, i) => {
        const u = hash53(`${i}\u0000${ctx.prompts[i]}\u0000${c}`, options.seed >>> 0) / 2 ** 53;
        return u < p ? RANDOM_REWARD_POINTS : 0;
      });
    },
  };
}
