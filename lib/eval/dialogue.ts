/**
 * Greedy dialogue evaluation: the policy answers each held-out instruction (greedy decoding), the
 * judge scores every answer 0–10 against the instruction and the reference response, and the mean
 * score is reported with per-sample details and where each score came from (judge, cache, fallback).
 * Beside the judge, two judge-free measures make a length-hacking policy visible: the mean ROUGE-L F1
 * of each response against its reference ({@linkcode rougeL}) and the mean response length in tokens.
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
  /** ROUGE-L F1 of the response against the reference, 0–1. */
  overlap: number;
  /** Response length in tokens. */
  tokens: number;
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
  /** Mean ROUGE-L F1 against the references, 0–1 (0 for no examples). */
  overlap: number;
  /** Mean response length in tokens (0 for no examples). */
  meanTokens: number;
  /** Every example with its response and score. */
  samples: DialogueSample[];
}

/** Lower-cased word and number tokens of `text` (punctuation dropped), as ROUGE tokenizes. */
export function rougeTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * ROUGE-L F1 (Lin 2004, β = 1) of `candidate` against `reference`: the longest common subsequence of their
 * word tokens, as precision and recall, combined by their harmonic mean. 0 when either has no tokens.
 */
export function rougeL(candidate: string, reference: string): number {
  const a = rougeTokens(candidate), b = rougeTokens(reference);
  if (!a.length || !b.length) return 0;
  let prev = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const cur = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      cur[j] = x === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    prev = cur;
  }
  const lcs = prev[b.length];
  if (lcs === 0) return 0;
  const p = lcs / a.length, r = lcs / b.length;
  return (2 * p * r) / (p + r);
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
  const eos = new Set(tok.eosTokenIds);
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
    const lengths = res.tokens.map((t) => t.filter((id) => !eos.has(id)).length);
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
      samples.push({
        ...items[i],
        score: v.score,
        source: v.source,
        overlap: rougeL(items[i].response, items[i].reference),
        tokens: lengths[i],
      });
    });
  }
  const mean = (f: (x: DialogueSample) => number) =>
    samples.length ? samples.reduce((a, x) => a + f(x), 0) / samples.length : 0;
  return {
    score: mean((x) => x.score),
    n: samples.length,
    sources,
    overlap: mean((x) => x.overlap),
    meanTokens: mean((x) => x.tokens),
    samples,
  };
}
