/**
 * Reference-likelihood reward (RLPR / VeriFree / NOVER style, 2025): the policy's own mean per-token
 * probability of the **reference answer**, placed after the completion's reasoning. It needs no
 * verifier and works on math and free text alike.
 *
 * - Math: the reasoning is the completion up to its first `<answer>` (all of it when there is
 *   none); the scored text is `prompt + reasoning + "\n<answer>"` → `gold`, the layout the embedded
 *   model's corpus writes (`</reasoning>\n<answer>N</answer>`, the answer inline in the slot).
 * - Dialogue: the completion is the reasoning; the scored text is `prompt + completion + "\n\n"` →
 *   the reference response (its first `maxTargetTokens` tokens, counted in `truncated`). The prompt is
 *   in the scorer's chat layout: with `userTurnPrompts` (the study's dialogue rewards see the plain user
 *   turn) each prompt is rendered with {@linkcode TargetScorer.layout} first.
 *
 * The reward is `2 · p̄` with `p̄ = exp(log p)` averaged over the reference's tokens (RLPR's
 * "probability reward": the mean of token probabilities, not of log-probabilities, which is bounded
 * and far less dominated by one unlikely token). `2·` puts it on `math_hard`'s 0–2 scale.
 *
 * `debias: true` (the `reference_likelihood_debiased` reward) is RLPR's debiasing: subtract the
 * probability of the reference with no reasoning at all (`prompt + "<answer>"` for math, the
 * prompt alone for dialogue) and clip to [0, 1] before scaling, so a completion is paid only for what
 * its reasoning adds. Under GRPO's group normalisation the subtraction alone cancels (it is one
 * constant per prompt); what remains is the clip, which zeroes reasoning that makes the reference
 * less likely. RLPR's other ingredient, dropping prompts whose rewards barely vary, is the trainer's
 * `dynamic_sampling` where it exists; this reward does no filtering of its own.
 * @module
 */
import { UserError } from "../util/mod.ts";
import { checkContext, type RewardContext, type RewardFunction } from "./types.ts";

/** Per-token log-probs of each target given its context (implemented by the model engine). */
export interface TargetScorer {
  /** Names the scoring model in messages and logs. */
  name: string;
  /**
   * One array per (context, target) pair: log p(target token k | context, target tokens < k), for
   * the first `options.maxTargetTokens` target tokens at most.
   */
  targetLogprobs(
    contexts: string[],
    targets: string[],
    options?: { maxTargetTokens?: number },
  ): Promise<number[][]>;
  /** The scoring model's chat layout of a plain user turn (absent: plain prompts are scored as they are). */
  layout?: (userTurn: string) => string;
}

/** Which kind of reference is scored. */
export type ReferenceTask = "math" | "dialogue";

/** Options of {@linkcode referenceLikelihoodReward}. */
export interface ReferenceLikelihoodOptions {
  /** "math" (gold answers in `ctx.answers`) or "dialogue" (`ctx.references`); default: whichever `ctx` has. */
  task?: ReferenceTask;
  /** RLPR debiasing (see the module documentation); default false. */
  debias?: boolean;
  /** Reference tokens scored at most (dialogue references are long); default 64. */
  maxTargetTokens?: number;
  /** Log name (default `"reference_likelihood"`, or `"reference_likelihood_debiased"` with `debias`). */
  name?: string;
  /** `ctx.prompts` are plain user turns: render each with `scorer.layout` first (default false). */
  userTurnPrompts?: boolean;
}

/** A reference-likelihood reward with its counters. */
export interface ReferenceLikelihoodReward extends RewardFunction {
  /** Completions scored so far. */
  scored: number;
  /** Completions whose reference had no tokens or a non-finite log-prob (scored 0). */
  nonFinite: number;
}

/** The reasoning part of a math completion: everything before its first `<answer>`, right-trimmed. */
export function mathReasoning(completion: string): string {
  const at = completion.indexOf("<answer>");
  return (at >= 0 ? completion.slice(0, at) : completion).trimEnd();
}

/** Mean of `exp(lp)` over the tokens; NaN for none or a non-finite value. */
export function meanTokenProbability(logprobs: readonly number[]): number {
  if (logprobs.length === 0) return NaN;
  let s = 0;
  for (const lp of logprobs) s += Math.exp(lp);
  const m = s / logprobs.length;
  return Number.isFinite(m) ? m : NaN;
}

/** The (context, target) pair scored for one completion, and the no-reasoning pair of its prompt. */
export function referencePair(
  task: ReferenceTask,
  item: { prompt: string; completion: string; reference: string },
): { context: string; baseline: string; target: string } {
  if (task === "math") {
    const reasoning = mathReasoning(item.completion);
    return {
      context: `${item.prompt}${reasoning}${reasoning ? "\n" : ""}<answer>`,
      baseline: `${item.prompt}<answer>`,
      target: item.reference.trim(),
    };
  }
  return {
    context: `${item.prompt}${item.completion.trimEnd()}\n\n`,
    baseline: item.prompt,
    target: item.reference.trim(),
  };
}

/** A named reward scoring each completion by the policy's probability of the reference after its reasoning. */
export function referenceLikelihoodReward(
  scorer: TargetScorer,
  options: ReferenceLikelihoodOptions = {},
): ReferenceLikelihoodReward {
  const debias = options.debias ?? false;
  const name = options.name ?? (debias ? "reference_likelihood_debiased" : "reference_likelihood");
  const maxTarget = options.maxTargetTokens ?? 64;
  const render = options.userTurnPrompts && scorer.layout ? scorer.layout : (p: string) => p;
  if (!(Number.isInteger(maxTarget) && maxTarget >= 1)) {
    throw new UserError(`reward "${name}": maxTargetTokens must be a positive integer, got ${maxTarget}`);
  }
  const reward: ReferenceLikelihoodReward = {
    name,
    scored: 0,
    nonFinite: 0,
    fn: async (ctx: RewardContext) => {
      const task = options.task ?? (ctx.answers ? "math" : "dialogue");
      const field = task === "math" ? "answers" : "references";
      checkContext(ctx, { reward: name, needs: field });
      const refs = ctx[field]!;
      const pairs = ctx.completions.map((completion, i) =>
        referencePair(task, { prompt: render(ctx.prompts[i]), completion, reference: refs[i] })
      );
      const score = async (contexts: string[], targets: string[]) => {
        const lps = await scorer.targetLogprobs(contexts, targets, { maxTargetTokens: maxTarget });
        if (!Array.isArray(lps) || lps.length !== contexts.length) {
          throw new UserError(
            `reward "${name}": scorer ${scorer.name} returned ${lps?.length} rows for ${contexts.length} references`,
          );
        }
        return lps.map((lp) => meanTokenProbability(lp.slice(0, maxTarget)));
      };
      const p = await score(pairs.map((x) => x.context), pairs.map((x) => x.target));
      let base: number[] | null = null;
      if (debias) {
        // One no-reasoning baseline per distinct (baseline, target): a group shares its prompt.
        const keys = pairs.map((x) => `${x.baseline}\u0000${x.target}`);
        const unique = [...new Set(keys)];
        const at = new Map(unique.map((k, i) => [k, i]));
        const ub = await score(
          unique.map((k) => k.split("\u0000")[0]),
          unique.map((k) => k.split("\u0000")[1]),
        );
        base = keys.map((k) => ub[at.get(k)!]);
      }
      reward.scored += p.length;
      return p.map((v, i) => {
        if (!Number.isFinite(v) || (base && !Number.isFinite(base[i]))) {
          reward.nonFinite++;
          return 0;
        }
        const x = base ? Math.min(1, Math.max(0, v - base[i])) : v;
        return 2 * x;
      });
    },
  };
  return reward;
}
