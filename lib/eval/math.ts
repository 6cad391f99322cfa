/**
 * Greedy math accuracy: the one function `deno task eval-math`, pretraining and GRPO's held-out evaluation
 * all call. A completion is correct when its extracted answer equals the gold answer (`mathHard` = 2.0).
 * @module
 */
import type { CausalLM, LoraAdapter } from "../model/mod.ts";
import { type MathExample, mathMessages } from "../data/mod.ts";
import { extractAnswer, isCorrect } from "../rewards/mod.ts";
import { Progress, Rng } from "../util/mod.ts";

/** One evaluated problem. */
export interface MathSample {
  question: string;
  gold: string;
  completion: string;
  predicted: string | null;
  correct: boolean;
}

/** Options of {@linkcode evaluateMath}. */
export interface EvaluateMathOptions {
  /** Policy adapter (absent: the base model). */
  lora?: LoraAdapter | null;
  /** Problems per generate call (default 50). */
  batchSize?: number;
  /** Longest completion (default 128 tokens). */
  maxNewTokens?: number;
  /** Print a progress line per batch (default false). */
  progress?: boolean;
}

/** Accuracy of greedy completions on `problems`. */
export async function evaluateMath(
  model: CausalLM,
  problems: readonly MathExample[],
  options: EvaluateMathOptions = {},
): Promise<{ accuracy: number; correct: number; n: number; samples: MathSample[] }> {
  const bs = options.batchSize ?? 50;
  const tok = model.tok;
  const samples: MathSample[] = [];
  const progress = options.progress ? new Progress("eval", Math.ceil(problems.length / bs)) : null;
  for (let s = 0; s < problems.length; s += bs) {
    const chunk = problems.slice(s, s + bs);
    const prompts = chunk.map((p) => tok.encode(tok.applyChatTemplate(mathMessages(p.question))));
    const res = await model.generate(prompts, {
      maxNewTokens: options.maxNewTokens ?? 128,
      temperature: 0,
      rng: new Rng(0),
      lora: options.lora,
    });
    chunk.forEach((p, i) => {
      const completion = tok.decode(res.tokens[i], { skipSpecialTokens: true });
      const predicted = extractAnswer(completion);
      samples.push({
        question: p.question,
        gold: p.answer,
        completion,
        predicted,
        correct: isCorrect(completion, p.answer),
      });
    });
    progress?.update(Math.ceil((s + chunk.length) / bs), {
      correct: samples.filter((x) => x.correct).length,
    });
  }
  const correct = samples.filter((x) => x.correct).length;
  return { accuracy: problems.length ? correct / problems.length : 0, correct, n: problems.length, samples };
}

/** The last line `deno task eval-math` prints: `accuracy: <fraction> (<correct>/<n>)`. */
export function formatAccuracy(r: { accuracy: number; correct: number; n: number }): string {
  return `accuracy: ${r.accuracy.toFixed(4)} (${r.correct}/${r.n})`;
}
