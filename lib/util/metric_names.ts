/**
 * The held-out metric names, declared once. Evaluators write them into `metrics.jsonl`; the analysis,
 * the verdicts, the notebooks and the CLI read them by these constants, never by spelled-out strings.
 * @module
 */

/** Held-out (evaluation) metric names as logged in `metrics.jsonl`. */
export const EVAL_METRICS = Object.freeze({
  /** Strict math accuracy: the answer read only from the `<answer>` slot. */
  accuracy: "eval/accuracy",
  /** Lenient math accuracy: the last number in the completion. */
  accuracyLenient: "eval/accuracy_lenient",
  /** Share of held-out completions that use the requested answer format. */
  formatRate: "eval/format_rate",
  /** Mean strict accuracy over k samples per problem. */
  meanAtK: "eval/mean_at_k",
  /** Number of held-out problems evaluated. */
  n: "eval/n",
  /** Samples per problem behind `meanAtK`. */
  k: "eval/k",
  /** Mean judge score of held-out dialogue replies. */
  judgeScore: "eval/judge_score",
  /** Share of held-out judge scores that came from the fallback scorer. */
  judgeFallbackFrac: "eval/judge_fallback_frac",
  /** Mean reference-overlap score of held-out dialogue replies (independent of the judge). */
  referenceOverlap: "eval/reference_overlap",
  /** Mean length in tokens of held-out dialogue replies. */
  meanLength: "eval/mean_length",
});

/** The prefix every held-out metric name starts with. */
export const EVAL_PREFIX = "eval/";

/** The prefix of the judge's held-out counters (`eval/judge_calls`, `eval/judge_fallbacks`, …). */
export const EVAL_JUDGE_PREFIX = "eval/judge_";
