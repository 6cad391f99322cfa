/**
 * Reward names → factories, name resolution with one-line errors, the unique-name guard (the seed
 * study logged two rewards under one name, `wrapped_func`; here that is an error), and
 * `computeRewards`, which runs a set of rewards on one batch and checks every score.
 * @module
 */
import { UserError } from "../util/errors.ts";
import type { RewardContext, RewardFunction } from "./types.ts";
import { mathHard, mathSoft } from "./math.ts";
import { formatReward, softFormatReward, strictFormatReward, xmlCountReward } from "./format.ts";
import { perplexityReward, type PerplexityScorer } from "./perplexity.ts";
import { geminiHardReward, geminiSoftReward, type Judge } from "./judge.ts";
import { referenceLikelihoodReward, type TargetScorer } from "./reference_likelihood.ts";

/** What some rewards need: a perplexity scorer (model engine) or a judge (lib/judge). */
export interface RewardDeps {
  /** For `"perplexity"`. */
  scorer?: PerplexityScorer;
  /** For `"gemini_hard"` / `"gemini_soft"`. */
  judge?: Judge;
  /** For `"reference_likelihood"` / `"reference_likelihood_debiased"`: the policy's reference scorer. */
  targetScorer?: TargetScorer;
}

/** Builds a named reward from its dependencies. */
export type RewardFactory = (deps: RewardDeps) => RewardFunction;

function need<T>(dep: T | undefined, reward: string, what: string): T {
  if (dep === undefined) throw new UserError(`reward "${reward}" needs ${what}, and none was given`);
  return dep;
}

/** Every known reward by name. */
export const REWARDS: Readonly<Record<string, RewardFactory>> = Object.freeze({
  math_hard: () => ({ name: "math_hard", fn: mathHard }),
  math_soft: () => ({ name: "math_soft", fn: mathSoft }),
  format: () => ({ name: "format", fn: formatReward }),
  strict_format: () => ({ name: "strict_format", fn: strictFormatReward }),
  soft_format: () => ({ name: "soft_format", fn: softFormatReward }),
  xml_count: () => ({ name: "xml_count", fn: xmlCountReward }),
  perplexity: (d: RewardDeps) => perplexityReward(need(d.scorer, "perplexity", "a perplexity scorer")),
  gemini_hard: (d: RewardDeps) => geminiHardReward(need(d.judge, "gemini_hard", "a judge")),
  gemini_soft: (d: RewardDeps) => geminiSoftReward(need(d.judge, "gemini_soft", "a judge")),
  reference_likelihood: (d: RewardDeps) =>
    referenceLikelihoodReward(need(d.targetScorer, "reference_likelihood", "a reference scorer")),
  reference_likelihood_debiased: (d: RewardDeps) =>
    referenceLikelihoodReward(
      need(d.targetScorer, "reference_likelihood_debiased", "a reference scorer"),
      { debias: true },
    ),
});

/** Throws a UserError when a reward has an empty name or two rewards share one. */
export function assertUniqueRewardNames(fns: readonly RewardFunction[]): void {
  const seen = new Set<string>();
  for (const f of fns) {
    if (typeof f.name !== "string" || !f.name.trim()) throw new UserError(`reward with an empty name`);
    if (seen.has(f.name)) {
      throw new UserError(
        `reward name "${f.name}" is used twice; each reward needs its own name in the logs`,
      );
    }
    seen.add(f.name);
  }
}

/**
 * The rewards named in `names`, built with `deps`. An unknown name → UserError listing the known
 * ones; a repeated name → UserError.
 */
export function resolveRewards(names: readonly string[], deps: RewardDeps = {}): RewardFunction[] {
  if (names.length === 0) {
    throw new UserError(`no rewards given; known rewards: ${Object.keys(REWARDS).join(", ")}`);
  }
  const fns = names.map((n) => {
    const make = Object.hasOwn(REWARDS, n) ? REWARDS[n] : undefined;
    if (!make) {
      throw new UserError(`unknown reward "${n}"; known rewards: ${Object.keys(REWARDS).join(", ")}`);
    }
    return make(deps);
  });
  assertUniqueRewardNames(fns);
  return fns;
}

/** Options of {@linkcode computeRewards}. */
export interface ComputeRewardsOptions {
  /** One weight per reward (default all 1). */
  weights?: readonly number[];
}

/** Per-reward scores and their weighted sum, one entry per completion. */
export interface RewardScores {
  /** Scores of each reward, keyed by its name (null: not applicable to that completion). */
  perFunction: Record<string, (number | null)[]>;
  /** Weighted sum over the rewards that applied (NaN when none did). */
  total: number[];
  /** Completions no reward applied to (every score null). */
  unscorable: number;
}

/**
 * Runs every reward on `ctx` (in order), checks names are unique, that each returns one finite
 * number (or null: not applicable) per completion, and sums the applicable ones with `weights`.
 */
export async function computeRewards(
  fns: readonly RewardFunction[],
  ctx: RewardContext,
  options: ComputeRewardsOptions = {},
): Promise<RewardScores> {
  assertUniqueRewardNames(fns);
  const w = options.weights ?? fns.map(() => 1);
  if (w.length !== fns.length) {
    throw new UserError(`reward weights: ${w.length} weights for ${fns.length} rewards`);
  }
  const n = ctx.completions.length;
  const total = new Array<number>(n).fill(0), applied = new Array<number>(n).fill(0);
  const perFunction: Record<string, (number | null)[]> = {};
  for (let k = 0; k < fns.length; k++) {
    const f = fns[k];
    if (!Number.isFinite(w[k])) throw new UserError(`reward weights: weight of "${f.name}" is ${w[k]}`);
    const scores = await f.fn(ctx);
    if (!Array.isArray(scores) || scores.length !== n) {
      throw new UserError(`reward "${f.name}" returned ${scores?.length} scores for ${n} completions`);
    }
    scores.forEach((s, i) => {
      if (s === null) return;
      if (typeof s !== "number" || !Number.isFinite(s)) {
        throw new UserError(`reward "${f.name}" gave a non-finite score ${s} for completion ${i}`);
      }
      total[i] += w[k] * s;
      applied[i]++;
    });
    perFunction[f.name] = scores;
  }
  let unscorable = 0;
  for (let i = 0; i < n; i++) if (!applied[i] && fns.length) total[i] = NaN, unscorable++;
  return { perFunction, total, unscorable };
}
