/**
 * Math correctness rewards against the gold answer: `mathHard` (2 or 0) and `mathSoft` (2 scaled down by the
 * relative error) read the answer only from the `<answer>…</answer>` slot, as the seed study's correctness
 * reward did; `mathHardLenient` reads it by the lenient fallback chain (`#### N`, else the last number).
 * @module
 */
import { UserError } from "../util/mod.ts";
import { checkContext, type RewardContext } from "./types.ts";
import { type AnswerRule, extractAnswer, extractNumber, parseNumber } from "./extract.ts";

/** Lower-cases and drops spaces, commas, `$` and a trailing period, for string comparison. */
export function normalizeAnswer(s: string): string {
  return s.trim().toLowerCase().replace(/[\s,$]/g, "").replace(/\.$/, "");
}

/** Points for a correct answer. */
export const MATH_CORRECT = 2.0;

/** Options of {@linkcode isCorrect}. */
export interface IsCorrectOptions {
  /** How the answer is read (default `"strict"`: only from the `<answer>…</answer>` slot). */
  rule?: AnswerRule;
}

/**
 * True when `completion`'s answer (read by `options.rule`, default strict) equals `gold` as a normalized
 * string or numerically within 0.01.
 */
export function isCorrect(completion: string, gold: string, options: IsCorrectOptions = {}): boolean {
  const rule = options.rule ?? "strict";
  const a = extractAnswer(completion, { rule });
  if (a === null) return false;
  if (normalizeAnswer(a) === normalizeAnswer(gold)) return true;
  const p = extractNumber(completion, { rule }), g = parseNumber(gold);
  return p !== null && g !== null && Math.abs(p - g) <= 0.01;
}

/**
 * 2.0 when the answer inside the last closed `<answer>…</answer>` equals the gold answer (string after
 * normalization, or within 0.01), else 0. A completion without the answer slot scores 0.
 */
export function mathHard(ctx: RewardContext): number[] {
  checkContext(ctx, { reward: "math_hard", needs: "answers" });
  return ctx.completions.map((c, i) => (isCorrect(c, ctx.answers![i]) ? MATH_CORRECT : 0));
}

/**
 * {@linkcode mathHard} with the lenient reading: the last `<answer>` (closed or not), else `#### N`, else
 * the last number in the text.
 */
export function mathHardLenient(ctx: RewardContext): number[] {
  checkContext(ctx, { reward: "math_hard_lenient", needs: "answers" });
  return ctx.completions.map((c, i) => isCorrect(c, ctx.answers![i], { rule: "lenient" }) ? MATH_CORRECT : 0);
}

/**
 * `2·(1 − min(|err|/|gold|, 1))` for the number in the `<answer>…</answer>` slot; with gold 0 the absolute
 * error stands in for the relative one. No slot or no number in it → 0. A gold answer that is not a number
 * → UserError naming it.
 */
export function mathSoft(ctx: RewardContext): number[] {
  checkContext(ctx, { reward: "math_soft", needs: "answers" });
  return ctx.completions.map((c, i) => {
    const gold = parseNumber(ctx.answers![i]);
    if (gold === null) {
      throw new UserError(`reward "math_soft": gold answer "${ctx.answers![i]}" is not a number`);
    }
    const p = extractNumber(c);
    if (p === null) return 0;
    const err = Math.abs(p - gold);
    const rel = gold === 0 ? err : err / Math.abs(gold);
    return MATH_CORRECT * (1 - Math.min(rel, 1));
  });
}
