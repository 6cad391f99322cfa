/**
 * Format rewards: the project's `formatReward` (0.25 per closed tag pair) and the TRL/Unsloth
 * GSM8K recipe's `strictFormatReward`, `softFormatReward` and `xmlCountReward`.
 * @module
 */
import { checkContext, type RewardContext } from "./types.ts";

const REASONING_PAIR = /<reasoning>[\s\S]*?<\/reasoning>/;
const ANSWER_PAIR = /<answer>[\s\S]*?<\/answer>/;
const STRICT = /^<reasoning>\n.*?\n<\/reasoning>\n<answer>\n.*?\n<\/answer>\n$/s;
const SOFT = /<reasoning>.*?<\/reasoning>\s*<answer>.*?<\/answer>/s;

/** 0.25 for a closed `<reasoning>…</reasoning>` pair plus 0.25 for a closed `<answer>…</answer>` pair (max 0.5). */
export function formatReward(ctx: RewardContext): number[] {
  checkContext(ctx, { reward: "format" });
  return ctx.completions.map((c) => (REASONING_PAIR.test(c) ? 0.25 : 0) + (ANSWER_PAIR.test(c) ? 0.25 : 0));
}

/**
 * 0.5 when the whole completion is exactly
 * `<reasoning>\n…\n</reasoning>\n<answer>\n…\n</answer>\n` (dot matches newlines), else 0.
 */
export function strictFormatReward(ctx: RewardContext): number[] {
  checkContext(ctx, { reward: "strict_format" });
  return ctx.completions.map((c) => (STRICT.test(c) ? 0.5 : 0));
}

/**
 * 0.5 when `<reasoning>…</reasoning>` followed by `<answer>…</answer>` occurs anywhere (dot matches
 * newlines). Unsloth's original used Python `re.match` without DOTALL, which rejects any
 * multi-line reasoning; this version does not reproduce that quirk.
 */
export function softFormatReward(ctx: RewardContext): number[] {
  checkContext(ctx, { reward: "soft_format" });
  return ctx.completions.map((c) => (SOFT.test(c) ? 0.5 : 0));
}

function count(text: string, sub: string): number {
  return text.split(sub).length - 1;
}

/** Length in code points, as Python's `len`. */
function pyLen(s: string): number {
  return [...s].length;
}

/** Unsloth's `count_xml` for one completion: 0.125 per well-placed tag, minus 0.001 per trailing character. */
export function xmlCount(text: string): number {
  let c = 0;
  if (count(text, "<reasoning>\n") === 1) c += 0.125;
  if (count(text, "\n</reasoning>\n") === 1) c += 0.125;
  if (count(text, "\n<answer>\n") === 1) {
    c += 0.125;
    c -= pyLen(text.split("\n</answer>\n").at(-1)!) * 0.001;
  }
  if (count(text, "\n</answer>") === 1) {
    c += 0.125;
    c -= (pyLen(text.split("\n</answer>").at(-1)!) - 1) * 0.001;
  }
  return c;
}

/** {@linkcode xmlCount} of every completion (max 0.5). */
export function xmlCountReward(ctx: RewardContext): number[] {
  checkContext(ctx, { reward: "xml_count" });
  return ctx.completions.map(xmlCount);
}
