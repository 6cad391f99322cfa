/**
 * Held-out math evaluation, reported the way lm-eval-harness reports GSM8K: the one function that
 * `deno task eval-math`, pretraining and GRPO's held-out evaluation all call.
 * - `accuracy` (strict): greedy completions, the answer read only from the `<answer>…</answer>` slot
 *   (the rule of the `math_hard` reward);
 * - `lenient`: the same greedy completions read by the lenient fallback chain (`math_hard_lenient`);
 * - `formatRate`: the share of greedy completions in the requested format (`<reasoning>…</reasoning>`
 *   followed by `<answer>…</answer>`, the `soft_format` rule);
 * - `meanAtK`: the mean strict accuracy of k samples per problem at the training temperature;
 * - `passAtK`: from the same samples, the unbiased pass@k estimator (Chen et al. 2021) for k = 1, 4, 16 (those
 *   ≤ the samples per problem), strict and lenient: sharpening (pass@1 up, pass@16 flat) told apart from new
 *   ability (pass@16 up).
 * Each rate but pass@k comes with a Wilson 95 % interval over the n problems ({@linkcode mathEvalMetrics}).
 * The greedy completions run in batches of `batchSize` (results independent of the batching is not
 * guaranteed in the last bits, so it stays fixed); the samples run in larger batches that drop finished rows.
 * @module
 */
import type { CausalLM, LoraAdapter } from "../model/mod.ts";
import { type MathExample, mathMessages } from "../data/mod.ts";
import { extractAnswer, isCorrect } from "../rewards/mod.ts";
import { EVAL_METRICS, Progress, Rng, wilsonInterval } from "../util/mod.ts";

/** `<reasoning>…</reasoning>` then `<answer>…</answer>`: the requested format (`soft_format`'s rule). */
const FORMAT = /<reasoning>[\s\S]*?<\/reasoning>\s*<answer>[\s\S]*?<\/answer>/;

/** True when `completion` follows the requested format. */
export function followsMathFormat(completion: string): boolean {
  return FORMAT.test(completion);
}

/** One evaluated problem (its greedy completion). */
export interface MathSample {
  question: string;
  gold: string;
  completion: string;
  /** The strict answer (from the `<answer>` slot), null when there is none. */
  predicted: string | null;
  /** Strictly correct. */
  correct: boolean;
  /** Correct under the lenient reading. */
  correctLenient: boolean;
  /** Follows the requested format. */
  formatted: boolean;
  /** Strictly correct samples among the k sampled completions (absent when k = 0). */
  sampledCorrect?: number;
  /** Leniently correct samples among the k sampled completions (absent when k = 0). */
  sampledCorrectLenient?: number;
}

/** Options of {@linkcode evaluateMath}. */
export interface EvaluateMathOptions {
  /** Policy adapter (absent: the base model). */
  lora?: LoraAdapter | null;
  /** Greedy completions per generate call (default 50). */
  batchSize?: number;
  /** Sampled completions per generate call (default 200; finished rows leave the batch). */
  sampleBatchSize?: number;
  /** Longest completion (default 128 tokens). */
  maxNewTokens?: number;
  /** Print a progress line per batch (default false). */
  progress?: boolean;
  /** k: sampled completions per problem for mean@k (default 0: no sampling). */
  samples?: number;
  /** Sampling temperature of the k samples (default 1). */
  temperature?: number;
  /** Nucleus threshold of the k samples (default 1). */
  topP?: number;
  /** Top-k filter of the k samples (default 0). */
  topK?: number;
  /** Seed of the k samples (default 0: every evaluation of a run draws alike). */
  seed?: number;
}

/** A count out of n. */
export interface Share {
  /** Successes (for mean@k: the mean share per problem times n). */
  correct: number;
  /** The share. */
  rate: number;
}

/** What {@linkcode evaluateMath} returns. */
export interface MathEvaluation {
  /** Problems. */
  n: number;
  /** Strict greedy accuracy (the headline number). */
  accuracy: number;
  /** Strictly correct greedy completions. */
  correct: number;
  /** Greedy accuracy under the lenient reading. */
  lenient: Share;
  /** Greedy completions in the requested format. */
  format: Share;
  /** k (0 when not sampled). */
  k: number;
  /** Mean strict accuracy of the k samples (null when k = 0). */
  meanAtK: Share | null;
  /** pass@k for each k of {@linkcode PASS_AT_K} not above the samples per problem (empty when k = 0). */
  passAtK: PassAtK[];
  /** Every problem. */
  samples: MathSample[];
}

/** The k of the reported pass@k. */
export const PASS_AT_K: readonly number[] = [1, 4, 16];

/** pass@k over the problems, strict and lenient (means of {@linkcode passAtK} per problem). */
export interface PassAtK {
  k: number;
  strict: number;
  lenient: number;
}

/**
 * The unbiased pass@k estimator (Chen et al. 2021) for one problem: with `c` correct among `n` samples, the
 * probability that k samples drawn without replacement contain a correct one, `1 − C(n−c, k) / C(n, k)`,
 * computed as `1 − Π_{i=n−c+1..n} (1 − k/i)` (no large binomials).
 */
export function passAtK(counts: { n: number; c: number }, k: number): number {
  const { n, c } = counts;
  if (
    !(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || c < 0 || c > n || k < 1 || k > n
  ) {
    throw new RangeError(`passAtK: need 0 ≤ c ≤ n and 1 ≤ k ≤ n, got n=${n}, c=${c}, k=${k}`);
  }
  if (n - c < k) return 1;
  let miss = 1;
  for (let i = n - c + 1; i <= n; i++) miss *= 1 - k / i;
  return 1 - miss;
}

async function complete(
  model: CausalLM,
  prompts: number[][],
  o: EvaluateMathOptions & { temperature: number; rng: Rng; label: string; batch: number; compact: boolean },
): Promise<string[]> {
  const bs = o.batch, tok = model.tok, out: string[] = [];
  const progress = o.progress ? new Progress(o.label, Math.ceil(prompts.length / bs)) : null;
  for (let s = 0; s < prompts.length; s += bs) {
    const res = await model.generate(prompts.slice(s, s + bs), {
      maxNewTokens: o.maxNewTokens ?? 128,
      temperature: o.temperature,
      topP: o.topP,
      topK: o.topK,
      rng: o.rng,
      lora: o.lora,
      compact: o.compact,
    });
    for (const t of res.tokens) out.push(tok.decode(t, { skipSpecialTokens: true }));
    progress?.update(Math.ceil((s + bs) / bs));
  }
  return out;
}

/** Strict and lenient greedy accuracy, format rate and (with `samples` > 0) mean@k on `problems`. */
export async function evaluateMath(
  model: CausalLM,
  problems: readonly MathExample[],
  options: EvaluateMathOptions = {},
): Promise<MathEvaluation> {
  const tok = model.tok, n = problems.length, k = options.samples ?? 0;
  const prompts = problems.map((p) => tok.encode(tok.applyChatTemplate(mathMessages(p.question))));
  const greedy = await complete(model, prompts, {
    ...options,
    temperature: 0,
    rng: new Rng(0),
    label: "eval",
    batch: options.batchSize ?? 50,
    compact: false,
  });
  const samples: MathSample[] = problems.map((p, i) => ({
    question: p.question,
    gold: p.answer,
    completion: greedy[i],
    predicted: extractAnswer(greedy[i]),
    correct: isCorrect(greedy[i], p.answer),
    correctLenient: isCorrect(greedy[i], p.answer, { rule: "lenient" }),
    formatted: followsMathFormat(greedy[i]),
  }));
  let meanAtK: Share | null = null;
  const passAt: PassAtK[] = [];
  if (k > 0 && n > 0) {
    // k copies of each prompt, problem-major, so a problem's samples sit together
    const repeated = prompts.flatMap((p) => Array.from({ length: k }, () => p));
    const sampled = await complete(model, repeated, {
      ...options,
      temperature: options.temperature ?? 1,
      rng: new Rng(options.seed ?? 0),
      label: `eval mean@${k}`,
      batch: options.sampleBatchSize ?? 200,
      compact: true,
    });
    samples.forEach((s, i) => {
      const mine = sampled.slice(i * k, (i + 1) * k);
      s.sampledCorrect = mine.filter((c) => isCorrect(c, s.gold)).length;
      s.sampledCorrectLenient = mine.filter((c) => isCorrect(c, s.gold, { rule: "lenient" })).length;
    });
    const perProblem = samples.reduce((a, s) => a + s.sampledCorrect! / k, 0);
    meanAtK = { correct: perProblem, rate: perProblem / n };
    for (const kk of PASS_AT_K.filter((x) => x <= k)) {
      const mean = (c: (s: MathSample) => number) =>
        samples.reduce((a, s) => a + passAtK({ n: k, c: c(s) }, kk), 0) / n;
      passAt.push({
        k: kk,
        strict: mean((s) => s.sampledCorrect!),
        lenient: mean((s) => s.sampledCorrectLenient!),
      });
    }
  }
  const count = (f: (s: MathSample) => boolean) => samples.filter(f).length;
  const share = (c: number): Share => ({ correct: c, rate: n ? c / n : 0 });
  const correct = count((s) => s.correct);
  return {
    n,
    accuracy: n ? correct / n : 0,
    correct,
    lenient: share(count((s) => s.correctLenient)),
    format: share(count((s) => s.formatted)),
    k,
    meanAtK,
    passAtK: passAt,
    samples,
  };
}

/**
 * The logged metrics of an evaluation: `eval/accuracy` (strict), `eval/accuracy_lenient`, `eval/format_rate`
 * and `eval/mean_at_k`, each with `_ci_low` / `_ci_high`, the Wilson 95 % interval over the n problems (for
 * mean@k this is conservative: the variance of a problem's mean of k samples is at most p(1 − p)), plus
 * `eval/n` and `eval/k`.
 */
export function mathEvalMetrics(r: MathEvaluation): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (name: string, s: Share) => {
    const ci = wilsonInterval(s.correct, r.n);
    out[name] = s.rate;
    out[`${name}_ci_low`] = ci.low;
    out[`${name}_ci_high`] = ci.high;
  };
  put(EVAL_METRICS.accuracy, { correct: r.correct, rate: r.accuracy });
  put(EVAL_METRICS.accuracyLenient, r.lenient);
  put(EVAL_METRICS.formatRate, r.format);
  if (r.meanAtK) put(EVAL_METRICS.meanAtK, r.meanAtK);
  out[EVAL_METRICS.n] = r.n;
  if (r.meanAtK) out[EVAL_METRICS.k] = r.k;
  return out;
}

/** Lines describing an evaluation: each metric with its interval (what `deno task eval-math` prints). */
export function formatMathReport(r: MathEvaluation): string[] {
  const m = mathEvalMetrics(r);
  const line = (label: string, key: string, counts: string) =>
    `${label.padEnd(18)} ${(100 * m[key]).toFixed(1).padStart(5)}%  [${
      (100 * m[`${key}_ci_low`]).toFixed(1)
    }, ${(100 * m[`${key}_ci_high`]).toFixed(1)}]  ${counts}`;
  const lines = [
    `held-out problems: ${r.n} (95% Wilson intervals in brackets)`,
    line("strict accuracy", EVAL_METRICS.accuracy, `(${r.correct}/${r.n}, greedy, <answer> slot only)`),
    line(
      "lenient accuracy",
      EVAL_METRICS.accuracyLenient,
      `(${r.lenient.correct}/${r.n}, greedy, fallback chain)`,
    ),
    line("format rate", EVAL_METRICS.formatRate, `(${r.format.correct}/${r.n}, greedy)`),
  ];
  if (r.meanAtK) {
    lines.push(line(`mean@${r.k}`, EVAL_METRICS.meanAtK, `(${r.k} samples per problem, strict)`));
  }
  const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)}%`;
  for (const p of r.passAtK ?? []) {
    lines.push(
      `${`pass@${p.k}`.padEnd(18)} ${pct(p.strict)} strict, ${
        pct(p.lenient)
      } lenient  (unbiased estimator, ${r.k} samples per problem)`,
    );
  }
  return lines;
}

/** The last line `deno task eval-math` prints: `accuracy: <fraction> (<correct>/<n>)`, strict. */
export function formatAccuracy(r: { accuracy: number; correct: number; n: number }): string {
  return `accuracy: ${r.accuracy.toFixed(4)} (${r.correct}/${r.n})`;
}
