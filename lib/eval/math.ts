/**
 * Held-out math evaluation, reported the way lm-eval-harness reports GSM8K: the one function that
 * `deno task eval-math`, pretraining and GRPO's held-out evaluation all call.
 * - `accuracy` (strict): greedy completions, the answer read only from the `<answer>…</answer>` slot
 *   (the rule of the `math_hard` reward);
 * - `lenient`: the same greedy completions read by the lenient fallback chain (`math_hard_lenient`);
 * - `formatRate`: the share of greedy completions in the requested format (`<reasoning>…</reasoning>`
 *   followed by `<answer>…</answer>`, the `soft_format` rule);
 * - `meanAtK`: the mean strict accuracy of k samples per problem at the training temperature.
 * Each comes with a Wilson 95 % interval over the n problems ({@linkcode mathEvalMetrics}).
 * @module
 */
import type { CausalLM, LoraAdapter } from "../model/mod.ts";
import { type MathExample, mathMessages } from "../data/mod.ts";
import { extractAnswer, isCorrect } from "../rewards/mod.ts";
import { Progress, Rng, wilsonInterval } from "../util/mod.ts";

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
}

/** Options of {@linkcode evaluateMath}. */
export interface EvaluateMathOptions {
  /** Policy adapter (absent: the base model). */
  lora?: LoraAdapter | null;
  /** Completions per generate call (default 50). */
  batchSize?: number;
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
  /** Every problem. */
  samples: MathSample[];
}

async function complete(
  model: CausalLM,
  prompts: number[][],
  o: EvaluateMathOptions & { temperature: number; rng: Rng; label: string },
): Promise<string[]> {
  const bs = o.batchSize ?? 50, tok = model.tok, out: string[] = [];
  const progress = o.progress ? new Progress(o.label, Math.ceil(prompts.length / bs)) : null;
  for (let s = 0; s < prompts.length; s += bs) {
    const res = await model.generate(prompts.slice(s, s + bs), {
      maxNewTokens: o.maxNewTokens ?? 128,
      temperature: o.temperature,
      topP: o.topP,
      topK: o.topK,
      rng: o.rng,
      lora: o.lora,
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
  if (k > 0 && n > 0) {
    // k copies of each prompt, problem-major, so a problem's samples sit together
    const repeated = prompts.flatMap((p) => Array.from({ length: k }, () => p));
    const sampled = await complete(model, repeated, {
      ...options,
      temperature: options.temperature ?? 1,
      rng: new Rng(options.seed ?? 0),
      label: `eval mean@${k}`,
    });
    samples.forEach((s, i) => {
      s.sampledCorrect = sampled.slice(i * k, (i + 1) * k).filter((c) => isCorrect(c, s.gold)).length;
    });
    const perProblem = samples.reduce((a, s) => a + s.sampledCorrect! / k, 0);
    meanAtK = { correct: perProblem, rate: perProblem / n };
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
  put("eval/accuracy", { correct: r.correct, rate: r.accuracy });
  put("eval/accuracy_lenient", r.lenient);
  put("eval/format_rate", r.format);
  if (r.meanAtK) put("eval/mean_at_k", r.meanAtK);
  out["eval/n"] = r.n;
  if (r.meanAtK) out["eval/k"] = r.k;
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
    line("strict accuracy", "eval/accuracy", `(${r.correct}/${r.n}, greedy, <answer> slot only)`),
    line(
      "lenient accuracy",
      "eval/accuracy_lenient",
      `(${r.lenient.correct}/${r.n}, greedy, fallback chain)`,
    ),
    line("format rate", "eval/format_rate", `(${r.format.correct}/${r.n}, greedy)`),
  ];
  if (r.meanAtK) {
    lines.push(line(`mean@${r.k}`, "eval/mean_at_k", `(${r.k} samples per problem, strict)`));
  }
  return lines;
}

/** The last line `deno task eval-math` prints: `accuracy: <fraction> (<correct>/<n>)`, strict. */
export function formatAccuracy(r: { accuracy: number; correct: number; n: number }): string {
  return `accuracy: ${r.accuracy.toFixed(4)} (${r.correct}/${r.n})`;
}
