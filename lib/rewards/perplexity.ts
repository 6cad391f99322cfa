/**
 * Perplexity reward: `2 / (1 + PPL / 50)` from a scorer the model engine provides. A non-finite
 * (or negative) perplexity scores 0 and is counted on the returned reward object; the first one is
 * also printed as a warning line. With `userTurnPrompts` (dialogue: the prompts are the plain user turn),
 * each prompt is first put in the scorer's chat layout ({@linkcode PerplexityScorer.layout}), so the
 * completion is scored as the answer of a turn laid out as the scoring model was trained on.
 * @module
 */
import { UserError } from "../util/mod.ts";
import { checkContext, type RewardContext, type RewardFunction } from "./types.ts";

/** Computes the perplexity of each completion given its prompt (implemented by the model engine). */
export interface PerplexityScorer {
  /** Names the scoring model in messages and logs. */
  name: string;
  /** One perplexity per (prompt, completion) pair. */
  perplexities(prompts: string[], completions: string[]): Promise<number[]>;
  /**
   * The scoring model's chat layout of a plain user turn (its prompt up to the assistant's answer);
   * absent: the model has no chat layout, and plain prompts are scored as they are.
   */
  layout?: (userTurn: string) => string;
}

/** Options of {@linkcode perplexityReward}. */
export interface PerplexityRewardOptions {
  /** Log name (default `"perplexity"`). */
  name?: string;
  /** Where the one-time warning goes (default console.warn). */
  warn?: (line: string) => void;
  /** `ctx.prompts` are plain user turns: render each with `scorer.layout` before scoring (default false). */
  userTurnPrompts?: boolean;
}

/** A perplexity reward with its counters. */
export interface PerplexityReward extends RewardFunction {
  /** How many completions got a non-finite or negative perplexity (scored 0). */
  nonFinite: number;
  /** How many completions were scored in all. */
  scored: number;
}

/** `2 / (1 + ppl / 50)`; NaN for a non-finite or negative perplexity. */
export function perplexityToReward(ppl: number): number {
  return Number.isFinite(ppl) && ppl >= 0 ? 2 / (1 + ppl / 50) : NaN;
}

/** A named reward scoring each completion by `2 / (1 + PPL / 50)` under `scorer`. */
export function perplexityReward(
  scorer: PerplexityScorer,
  options: PerplexityRewardOptions = {},
): PerplexityReward {
  const name = options.name ?? "perplexity";
  const warn = options.warn ?? console.warn;
  const render = options.userTurnPrompts && scorer.layout ? scorer.layout : (p: string) => p;
  const reward: PerplexityReward = {
    name,
    nonFinite: 0,
    scored: 0,
    fn: async (ctx: RewardContext) => {
      checkContext(ctx, { reward: name });
      const ppl = await scorer.perplexities(ctx.prompts.map(render), ctx.completions);
      if (!Array.isArray(ppl) || ppl.length !== ctx.completions.length) {
        throw new UserError(
          `reward "${name}": scorer ${scorer.name} returned ${ppl?.length} perplexities for ${ctx.completions.length} completions`,
        );
      }
      reward.scored += ppl.length;
      return ppl.map((p) => {
        const r = perplexityToReward(p);
        if (!Number.isNaN(r)) return r;
        if (reward.nonFinite++ === 0) {
          warn(
            `warning: reward "${name}": scorer ${scorer.name} gave perplexity ${p}; scored 0 (counted in nonFinite)`,
          );
        }
        return 0;
      });
    },
  };
  return reward;
}
