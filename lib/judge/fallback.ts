/**
 * Local scorers used when the Gemini judge cannot answer. The built-in `"overlap"` scorer needs no
 * model: with a reference answer it is the unigram F1 between response and reference × 10; without
 * one it is a length/degeneracy heuristic (see {@linkcode overlapScore}). A local-LM judge can be
 * plugged in as any {@linkcode FallbackScorer}.
 * @module
 */
import type { JudgeItem } from "./prompt.ts";

/** A local scorer: returns a score in [0, 10] for one item (values outside are clamped by the judge). */
export interface FallbackScorer {
  /** Short name used in notices, e.g. `"overlap"` or `"local-lm"`. */
  name: string;
  /** Scores one item, 0–10. */
  score(item: JudgeItem): Promise<number>;
}

/** Lower-cased word tokens (letters/digits runs, Unicode-aware). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Unigram F1 (multiset overlap) between two token lists; 0 when either is empty. */
export function unigramF1(candidate: string[], reference: string[]): number {
  if (candidate.length === 0 || reference.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const t of reference) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of candidate) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      common++;
      counts.set(t, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / candidate.length, recall = common / reference.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Tokens under which a reference-free answer counts as too short (linear penalty below it). */
export const MIN_HEURISTIC_TOKENS = 20;

/**
 * The `"overlap"` fallback score, 0–10.
 * - With a non-empty `reference`: `10 × unigramF1(response, reference)`.
 * - Without one (length/degeneracy heuristic): `10 × min(1, n / 20) × distinct`, where `n` is the
 *   response's token count and `distinct` the fraction of distinct word trigrams (distinct words when
 *   n < 3). Empty answers score 0, very short ones are scaled down, repetitive loops
 *   ("the the the …") score near 0. It says nothing about correctness: a crude stand-in only.
 */
export function overlapScore(item: JudgeItem): number {
  const resp = tokenize(item.response);
  if (item.reference !== undefined && item.reference.trim() !== "") {
    return 10 * unigramF1(resp, tokenize(item.reference));
  }
  const n = resp.length;
  if (n === 0) return 0;
  let distinct: number;
  if (n < 3) distinct = new Set(resp).size / n;
  else {
    const grams = new Set<string>();
    for (let i = 0; i + 2 < n; i++) grams.add(`${resp[i]} ${resp[i + 1]} ${resp[i + 2]}`);
    distinct = grams.size / (n - 2);
  }
  return 10 * Math.min(1, n / MIN_HEURISTIC_TOKENS) * distinct;
}

/** The built-in `"overlap"` fallback as a {@linkcode FallbackScorer}. */
export const overlapFallback: FallbackScorer = {
  name: "overlap",
  score: (item) => Promise.resolve(overlapScore(item)),
};
