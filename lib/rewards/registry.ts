/**
 * The reward table (one row per reward: name, description, what it needs, how it is made), name
 * resolution with one-line errors, the unique-name guard (the seed
 * study logged two rewards under one name, `wrapped_func`; here that is an error), and
 * `computeRewards`, which runs a set of rewards on one batch and checks every score.
 * @module
 */
import { UserError } from "../util/mod.ts";
import type { RewardContext, RewardFunction } from "./types.ts";
import { mathHard, mathHardLenient, mathSoft } from "./math.ts";
import { randomReward } from "./random.ts";
import { formatReward, softFormatReward, strictFormatReward, xmlCountReward } from "./format.ts";
import { perplexityReward, type PerplexityScorer } from "./perplexity.ts";
import { geminiHardReward, geminiSoftReward, type RewardJudge } from "./judge.ts";
import { referenceLikelihoodReward, type TargetScorer } from "./reference_likelihood.ts";

/** What some rewards need: a perplexity scorer (model engine), a judge (lib/judge), the policy, a seed. */
export interface RewardDeps {
  /** For `"perplexity"`: a scorer LM (the policy, or a frozen LM). */
  scorer?: PerplexityScorer;
  /** For `"gemini_hard"` / `"gemini_soft"`. */
  judge?: RewardJudge;
  /** For `"reference_likelihood"` / `"reference_likelihood_debiased"`: the policy's reference scorer. */
  targetScorer?: TargetScorer;
  /** For `"random"`: the seed of its draws (default 0; a run passes its `seed`). */
  seed?: number;
  /**
   * Whether `ctx.prompts` are the plain user turn (dialogue, so the judge reads the instruction) rather
   * than the rendered chat prompt; model-scored rewards then render each one with their scorer's `layout`.
   */
  userTurnPrompts?: boolean;
}

/** A dependency a reward row can need; the study builds exactly the ones its rewards' rows list. */
export type RewardNeed = "scorer" | "judge" | "targetScorer";

/** How each need is named in messages. */
export const REWARD_NEEDS: Readonly<Record<RewardNeed, string>> = Object.freeze({
  scorer: "a perplexity scorer",
  judge: "a judge",
  targetScorer: "a reference scorer",
});

/** One reward: its name, what it pays, what it needs and how it is made. */
export interface RewardSpec {
  /** Its name in `reward_funcs` and in the logs (`rewards/<name>/…`). */
  name: string;
  /** One line for `--help`: what it pays, and how it reads the answer. */
  description: string;
  /** The dependencies it cannot be made without (checked before `make` runs). */
  needs: readonly RewardNeed[];
  /** Builds it from its dependencies (the listed needs are present). */
  make: (deps: RewardDeps) => RewardFunction;
}

/** Builds a named reward from its dependencies. */
export type RewardFactory = (deps: RewardDeps) => RewardFunction;

const plain = (name: string, fn: RewardFunction["fn"]) => () => ({ name, fn });

/** Every known reward, one row each (a new reward is a new row here, plus its scoring function). */
export const REWARD_TABLE: readonly RewardSpec[] = Object.freeze([
  {
    name: "math_hard",
    description: "2 when the answer in the <answer>…</answer> slot equals the gold answer, else 0 (strict: " +
      "no slot, no points; the seed study's rule)",
    needs: [],
    make: plain("math_hard", mathHard),
  },
  {
    name: "math_hard_lenient",
    description: "math_hard with the lenient reading: the last <answer> (closed or not), else #### N, " +
      "else the last number",
    needs: [],
    make: plain("math_hard_lenient", mathHardLenient),
  },
  {
    name: "math_soft",
    description:
      "2·(1 − min(relative error, 1)) for the number in the <answer>…</answer> slot (strict, as math_hard)",
    needs: [],
    make: plain("math_soft", mathSoft),
  },
  {
    name: "random",
    description: "control: 2 with probability 1/2 per completion, seeded by the run's seed, blind to the " +
      "text (Spurious Rewards, 2025)",
    needs: [],
    make: (d) => randomReward({ seed: d.seed ?? 0 }),
  },
  {
    name: "format",
    description: "0.25 per closed <reasoning>…</reasoning> and <answer>…</answer> pair (max 0.5; math only)",
    needs: [],
    make: plain("format", formatReward),
  },
  {
    name: "strict_format",
    description:
      "0.5 when the whole completion is exactly <reasoning>\\n…\\n</reasoning>\\n<answer>\\n…\\n</answer>\\n",
    needs: [],
    make: plain("strict_format", strictFormatReward),
  },
  {
    name: "soft_format",
    description: "0.5 when <reasoning>…</reasoning> is followed by <answer>…</answer> anywhere",
    needs: [],
    make: plain("soft_format", softFormatReward),
  },
  {
    name: "xml_count",
    description: "Unsloth's count_xml: 0.125 per well-placed tag, minus 0.001 per trailing character",
    needs: [],
    make: plain("xml_count", xmlCountReward),
  },
  {
    name: "perplexity",
    description: "2/(1 + PPL/50) of the completion under a scorer LM (the policy, or a frozen LM), the " +
      "prompt in that LM's chat layout",
    needs: ["scorer"],
    make: (d) => perplexityReward(d.scorer!, { userTurnPrompts: d.userTurnPrompts }),
  },
  {
    name: "gemini_hard",
    description: "2 when the judge (Gemini, or its counted local fallback) scores the answer ≥ 7/10, else 0",
    needs: ["judge"],
    make: (d) => geminiHardReward(d.judge!),
  },
  {
    name: "gemini_soft",
    description: "the judge score / 5 (0–10 → 0–2)",
    needs: ["judge"],
    make: (d) => geminiSoftReward(d.judge!),
  },
  {
    name: "reference_likelihood",
    description: "2 × the policy's mean per-token probability of the reference answer after the " +
      "completion's reasoning (RLPR's plain probability reward)",
    needs: ["targetScorer"],
    make: (d) => referenceLikelihoodReward(d.targetScorer!, { userTurnPrompts: d.userTurnPrompts }),
  },
  {
    name: "reference_likelihood_debiased",
    description: "reference_likelihood minus that probability with no reasoning, clipped to [0, 1] " +
      "(RLPR's debiased reward)",
    needs: ["targetScorer"],
    make: (d) =>
      referenceLikelihoodReward(d.targetScorer!, { debias: true, userTurnPrompts: d.userTurnPrompts }),
  },
]);

/** The row of reward `name` in `table` (default {@linkcode REWARD_TABLE}), or undefined. */
export function findReward(
  name: string,
  options: { table?: readonly RewardSpec[] } = {},
): RewardSpec | undefined {
  return (options.table ?? REWARD_TABLE).find((r) => r.name === name);
}

/** Builds one reward from its row, after checking that every dependency the row needs is given. */
export function makeReward(spec: RewardSpec, deps: RewardDeps = {}): RewardFunction {
  for (const k of spec.needs) {
    if (deps[k] === undefined) {
      throw new UserError(`reward "${spec.name}" needs ${REWARD_NEEDS[k]}, and none was given`);
    }
  }
  return spec.make(deps);
}

/** Every known reward by name (derived from {@linkcode REWARD_TABLE}). */
export const REWARDS: Readonly<Record<string, RewardFactory>> = Object.freeze(
  Object.fromEntries(REWARD_TABLE.map((r) => [r.name, (d: RewardDeps) => makeReward(r, d)])),
);

/** One line per reward for `--help` (derived from {@linkcode REWARD_TABLE}). */
export const REWARD_DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(REWARD_TABLE.map((r) => [r.name, r.description])),
);

/** `--help` lines listing every reward with its description. */
export function describeRewards(options: { table?: readonly RewardSpec[] } = {}): string {
  return (options.table ?? REWARD_TABLE).map((r) => `  ${r.name.padEnd(30)} ${r.description}`).join("\n");
}

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

/** Options of {@linkcode resolveRewards}: the dependencies, and the table to read (default {@linkcode REWARD_TABLE}). */
export interface ResolveRewardsOptions extends RewardDeps {
  /** The reward rows names are looked up in (default {@linkcode REWARD_TABLE}). */
  table?: readonly RewardSpec[];
}

/**
 * The rewards named in `names`, built from their rows with the dependencies in `options`. An unknown
 * name → UserError listing the known ones; a missing dependency or a repeated name → UserError.
 */
export function resolveRewards(
  names: readonly string[],
  options: ResolveRewardsOptions = {},
): RewardFunction[] {
  const table = options.table ?? REWARD_TABLE;
  const known = () => table.map((r) => r.name).join(", ");
  if (names.length === 0) throw new UserError(`no rewards given; known rewards: ${known()}`);
  const fns = names.map((n) => {
    const spec = findReward(n, { table });
    if (!spec) throw new UserError(`unknown reward "${n}"; known rewards: ${known()}`);
    return makeReward(spec, options);
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
