/**
 * Test fixtures for rewards, the trainer and the study: a random tiny Llama with a tiny BPE tokenizer
 * (chat template included) written in the Hugging Face layout, and small math example sets. They live
 * here, beside lib/data at the same level, so that lib/grpo's tests reach the generated data through
 * lib/rewards (lib/grpo depends only on model, rewards, onnx and util).
 * @module
 */
import { join } from "node:path";
import { trainBpe, writeTokenizerFiles } from "../model/bpe.ts";
import { writeRandomModel } from "../model/testing.ts";
import { formatMathTarget, generateMathProblems } from "../data/generated.ts";
import { generateDialogues } from "../data/generated_dialogues.ts";
import { mathMessages } from "../data/prompts.ts";
import type { ChatMessage } from "../model/tokenizer.ts";

/** Options of {@linkcode writeTinyChatModel}. */
export interface TinyChatModelOptions {
  /** Weight seed (default 0). */
  seed?: number;
  /** Hidden size (default 16). */
  hidden?: number;
  /** Layers (default 1). */
  layers?: number;
  /** BPE vocabulary size (default 120). */
  vocab?: number;
  /** max_position_embeddings (default 256). */
  maxPositions?: number;
}

/** Writes a random Llama with a trained tiny BPE tokenizer into `dir`; eos = `<|endoftext|>`. */
export async function writeTinyChatModel(dir: string, options: TinyChatModelOptions = {}): Promise<void> {
  const texts = generateMathProblems(60, { seed: 1 }).flatMap((p) => [p.question, formatMathTarget(p)]);
  texts.push(...generateDialogues(40, { seed: 2 }).flatMap((d) => [d.instruction, d.output]));
  const tj = trainBpe(texts, { vocabSize: options.vocab ?? 120 });
  await writeTokenizerFiles(dir, tj);
  const vocab = Object.keys(tj.model.vocab).length;
  await writeRandomModel(dir, {
    vocab_size: vocab,
    hidden_size: options.hidden ?? 16,
    intermediate_size: 2 * (options.hidden ?? 16),
    num_hidden_layers: options.layers ?? 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    seed: options.seed ?? 0,
  });
  const cfgPath = join(dir, "config.json");
  const cfg = JSON.parse(await Deno.readTextFile(cfgPath));
  cfg.eos_token_id = 0;
  cfg.pad_token_id = 0;
  cfg.max_position_embeddings = options.maxPositions ?? 256;
  await Deno.writeTextFile(cfgPath, JSON.stringify(cfg, null, 2));
}

/** `n` generated math problems as training examples (short questions). */
export function tinyMathExamples(n: number, seed = 3): { messages: ChatMessage[]; answer: string }[] {
  return generateMathProblems(n, { seed, maxSteps: 1 }).map((p) => ({
    messages: mathMessages(p.question, { system: "Answer." }),
    answer: p.answer,
  }));
}
