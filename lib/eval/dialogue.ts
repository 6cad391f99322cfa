/**
 * Greedy dialogue evaluation: the policy answers each held-out instruction (greedy decoding), the
 * judge scores every answer 0–10 against the instruction and the reference response, and the mean
 * score is reported with per-sample details and where each score came from (judge, cache, fallback).
 * @module
 */
import type { CausalLM, LoraAdapter } from "../model/mod.ts";
import { type DialogueExample, dialogueMessages } from "../data/mod.ts";
import type { JudgeScore, RewardJudge } from "../rewards/mod.ts";
import { Rng, UserError } from "../util/mod.ts";

/** One evaluated example. */
export interface DialogueSample {
  /** The user turn (instruction, then the input when there is one). */
  prompt: string;
  /** The reference response. */
  reference: string;
  /** The policy's greedy response. */
  response: string;
  /** Judge score, 0–10. */
  score: number;
  /** Where the score came from. */
  source: JudgeScore["source"];
}

/** Options of {@linkcode evaluateDialogue}. */
export interface EvaluateDialogueOptions {
  /** The judge that scores responses (lib/judge's Gemini judge, or any {@linkcode RewardJudge}). */
  judge: RewardJudge;
  /** Policy adapter (absent: the base model). */
  lora?: LoraAdapter | null;
  /** Examples per generate call (default 50). */
  batchSize?: number;
  /** Longest response in tokens (default 128). */
  maxNewTokens?: number;
}

/** What {@linkcode evaluateDialogue} returns. */
export interface DialogueEvaluation {
  /** Mean judge score, 0–10 (0 for no examples). */
  score: number;
  /** Examples scored. */
  n: number;
  /** How many scores came from each source. */
  sources: Record<JudgeScore["source"], number>;
  /** Every example with its response and score. */
  samples: DialogueSample[];
}

/** The user-turn text of an example, as the judge sees it. */
export function dialoguePrompt(ex: { instruction: string; input?: string }): string {
  return dialogueMessages(ex)[0].content;
}

/** Mean judge score of greedy responses to `examples`. */
export async function evaluateDialogue(
  model: CausalLM,
  examples: readonly DialogueExample[],
  options: EvaluateDialogueOptions,
): Promise<DialogueEvaluation> {
  const bs = options.batchSize ?? 50, maxNew = options.maxNewTokens ?? 128;
  for (const [k, v] of [["batchSize", bs], ["maxNewTokens", maxNew]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) {
      throw new UserError(`evaluateDialogue: ${k} must be a positive integer, got ${v}`);
    }
  }
  const tok = model.tok;
  const samples: DialogueSample[] = [];
  const sources: Record<JudgeScore["source"], number> = { judge: 0, cache: 0, fallback: 0 };
  for (let s = 0; s < examples.length; s += bs) {
    const chunk = examples.slice(s, s + bs);
    const prompts = chunk.map((ex) => tok.encode(tok.applyChatTemplate(dialogueMessages(ex))));
    const res = await model.generate(prompts, {
      maxNewTokens: maxNew,
      temperature: 0,
      rng: new Rng(0),
      lora: options.lora,
    });
    const items = chunk.map((ex, i) => ({
      prompt: dialoguePrompt(ex),
      response: tok.decode(res.tokens[i], { skipSpecialTokens: true }),
      reference: ex.output,
    }));
    const verdicts = await options.judge.score(items);
    if (!Array.isArray(verdicts) || verdicts.length !== items.length) {
      throw new UserError(
        `evaluateDialogue: judge returned ${verdicts?.length} scores for ${items.length} responses`,
      );
    }
    verdicts.forEach((v, i) => {
      if (!Number.isFinite(v.score)) {
        throw new UserError(
          `evaluateDialogue: judge score ${v.score} for example ${s + i + 1} is not a number`,
        );
      }
      sources[v.source] = (sources[v.source] ?? 0) + 1;
      samples.push({ ...items[i], score: v.score, source: v.source });
    });
  }
  const score = samples.length ? samples.reduce((a, x) => a + x.score, 0) / samples.length : 0;
  return { score, n: samples.length, sources, samples };
}
