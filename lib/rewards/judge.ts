/**
 * LLM-judge rewards (Gemini in this project, implemented in lib/judge): hard = 2.0 when the score
 * is ≥ 7 (of 10), else 0; soft = score / 5. The returned reward objects count where scores came
 * from (judge, fallback, cache) and how many were unusable (non-finite → 0, first one warned).
 * @module
 */
import { UserError } from "../util/mod.ts";
import { checkContext, type RewardContext, type RewardFunction } from "./types.ts";

/** One item for a reward judge (the same fields as lib/judge's `JudgeItem`). */
export interface RewardJudgeItem {
  /** The prompt the response answers. */
  prompt: string;
  /** The response to grade. */
  response: string;
  /** An optional reference answer. */
  reference?: string;
}

/** One judge verdict on a 0–10 scale, and where it came from. */
export interface JudgeScore {
  /** The score, 0–10. */
  score: number;
  /** `"judge"` (fresh), `"cache"` (stored) or `"fallback"` (the judge failed; counted). */
  source: "judge" | "fallback" | "cache";
}

/** Grades responses for the judge rewards (implemented by lib/judge's `Judge`). */
export interface RewardJudge {
  /** One verdict per item, in order. */
  score(items: RewardJudgeItem[]): Promise<JudgeScore[]>;
}

/** A judge reward with its counters. */
export interface JudgeReward extends RewardFunction {
  /** How many verdicts came from each source. */
  sources: Record<JudgeScore["source"], number>;
  /** How many verdicts had a non-finite score (scored 0). */
  invalid: number;
}

/** Options of the judge rewards. */
export interface JudgeRewardOptions {
  /** Log name (default `"gemini_hard"` / `"gemini_soft"`). */
  name?: string;
  /** Where the one-time invalid-score warning goes (default console.warn). */
  warn?: (line: string) => void;
}

function judgeReward(
  judge: RewardJudge,
  name: string,
  map: (score: number) => number,
  warn = console.warn,
): JudgeReward {
  const reward: JudgeReward = {
    name,
    sources: { judge: 0, fallback: 0, cache: 0 },
    invalid: 0,
    fn: async (ctx: RewardContext) => {
      checkContext(ctx, { reward: name });
      if (ctx.references) checkContext(ctx, { reward: name, needs: "references" });
      const items = ctx.completions.map((response, i) => {
        const item: RewardJudgeItem = { prompt: ctx.prompts[i], response };
        if (ctx.references) item.reference = ctx.references[i];
        return item;
      });
      const verdicts = await judge.score(items);
      if (!Array.isArray(verdicts) || verdicts.length !== items.length) {
        throw new UserError(
          `reward "${name}": judge returned ${verdicts?.length} verdicts for ${items.length} items`,
        );
      }
      return verdicts.map((v) => {
        if (!(v?.source in reward.sources)) {
          throw new UserError(
            `reward "${name}": judge verdict has unknown source ${JSON.stringify(v?.source)}`,
          );
        }
        reward.sources[v.source]++;
        if (Number.isFinite(v.score)) return map(v.score);
        if (reward.invalid++ === 0) {
          warn(`warning: reward "${name}": judge score ${v.score} is not a number; scored 0`);
        }
        return 0;
      });
    },
  };
  return reward;
}

/** 2.0 when the judge score is ≥ 7, else 0. */
export function geminiHardReward(judge: RewardJudge, options: JudgeRewardOptions = {}): JudgeReward {
  return judgeReward(judge, options.name ?? "gemini_hard", (s) => (s >= 7 ? 2.0 : 0), options.warn);
}

/** The judge score divided by 5 (0–10 → 0–2). */
export function geminiSoftReward(judge: RewardJudge, options: JudgeRewardOptions = {}): JudgeReward {
  return judgeReward(judge, options.name ?? "gemini_soft", (s) => s / 5, options.warn);
}
