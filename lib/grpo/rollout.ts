/**
 * Rollouts, the data side: what one step's rollouts hold ({@linkcode RolloutBatch} of
 * {@linkcode MicroBatch}es), the seeded prompt order ({@linkcode DataOrder}), prompt encoding with left
 * truncation, and the batch layout (left-padded prompt, right-padded completion). Sampling, scoring and the
 * no-grad passes are `rollout_collect.ts`.
 * @module
 */
import type { ChatMessage, TokenBatch, Tokenizer } from "../model/mod.ts";
import type { RewardScores } from "../rewards/mod.ts";
import { Rng } from "../util/mod.ts";

/** One training example: the prompt's chat messages and what the rewards compare against. */
export interface TrainExample {
  /** The prompt as chat messages (rendered with the model's chat template). */
  messages: ChatMessage[];
  /** Gold answer (math rewards). */
  answer?: string;
  /** Reference response (judge rewards). */
  reference?: string;
  /** The prompt text rewards see (default: the rendered chat prompt); dialogue uses the plain user turn. */
  promptText?: string;
}

/** A prompt ready for generation. */
export interface EncodedPrompt {
  /** The rendered prompt text (before truncation; what rewards see). */
  text: string;
  /** Token ids, at most `max_prompt_length` (the left part cut). */
  ids: number[];
  /** Whether tokens were cut. */
  truncated: boolean;
}

/** Renders `messages` with the chat template, encodes them and keeps the last `options.maxLength` tokens. */
export function encodePrompt(
  tok: Tokenizer,
  messages: ChatMessage[],
  options: { maxLength: number },
): EncodedPrompt {
  const maxLength = options.maxLength;
  const text = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
  const all = tok.encode(text);
  const truncated = all.length > maxLength;
  return { text, ids: truncated ? all.slice(all.length - maxLength) : all, truncated };
}

/**
 * The order in which training examples are drawn: a fresh seeded shuffle of all `n` examples per
 * epoch, so position `p` (prompts drawn so far) fully determines what comes next.
 */
export class DataOrder {
  /** How many examples. */
  readonly n: number;
  /** The run's seed. */
  readonly seed: number;
  #perms = new Map<number, number[]>();

  /** Orders `n` examples with `seed`. */
  constructor(n: number, seed: number) {
    if (!(n > 0)) throw new Error("DataOrder needs at least one example");
    this.n = n;
    this.seed = seed;
  }

  /** Example indices for positions `[start, start + count)`. */
  indices(start: number, count: number): number[] {
    const out: number[] = [];
    for (let p = start; p < start + count; p++) {
      const epoch = Math.floor(p / this.n);
      let perm = this.#perms.get(epoch);
      if (!perm) {
        perm = new Rng(this.seed * 1000003 + epoch + 1).shuffle(Array.from({ length: this.n }, (_, i) => i));
        this.#perms.set(epoch, perm);
        if (this.#perms.size > 2) this.#perms.delete(Math.min(...this.#perms.keys()));
      }
      out.push(perm[p % this.n]);
    }
    return out;
  }
}

/**
 * One batch of rows `[prompt left-padded to the longest prompt | completion right-padded]`, with the
 * completion mask in token alignment (1 on completion tokens, EOS included).
 */
export function assembleBatch(
  prompts: readonly number[][],
  completions: readonly number[][],
  options: { pad: number },
): { batch: TokenBatch; completionMask: Float64Array; promptWidth: number } {
  const pad = options.pad;
  const B = prompts.length;
  const P = Math.max(...prompts.map((p) => p.length));
  const C = Math.max(1, ...completions.map((c) => c.length));
  const T = P + C;
  const ids = new Array<number>(B * T).fill(pad), mask = new Array<number>(B * T).fill(0);
  const completionMask = new Float64Array(B * T);
  for (let r = 0; r < B; r++) {
    const p = prompts[r], c = completions[r];
    for (let i = 0; i < p.length; i++) {
      ids[r * T + P - p.length + i] = p[i];
      mask[r * T + P - p.length + i] = 1;
    }
    for (let i = 0; i < c.length; i++) {
      ids[r * T + P + i] = c[i];
      mask[r * T + P + i] = 1;
      completionMask[r * T + P + i] = 1;
    }
  }
  return { batch: { ids, mask, batch: B, length: T }, completionMask, promptWidth: P };
}

/** One micro-batch of rollouts with everything the optimizer step needs. */
export interface MicroBatch {
  /** Token rows. */
  batch: TokenBatch;
  /** [B·T] 1 on completion tokens (token alignment). */
  completionMask: Float64Array;
  /** One advantage per row. */
  advantages: number[];
  /** Reference (base model) log-probs, next-token aligned, when beta > 0. */
  ref?: Float32Array;
  /** The policy's log-probs at rollout time, next-token aligned (the old log-probs). */
  old?: Float32Array;
  /** The policy's entropies at rollout time, next-token aligned. */
  entropy?: Float32Array;
  /**
   * The sampler's log-probs of the completion tokens (next-token aligned), when the sampling graph differs
   * from the training graph (`rollout_quantization` ≠ "none"); the importance-sampling correction uses them.
   */
  sampling?: Float32Array;
}

/** One completion with its prompt, rewards and advantage. */
export interface Sample {
  /** Index of the training example. */
  example: number;
  /** Rendered prompt text (what the policy saw). */
  prompt: string;
  /** The prompt text rewards saw ({@linkcode TrainExample.promptText}, else `prompt`). */
  rewardPrompt: string;
  /** Decoded completion (special tokens dropped). */
  completion: string;
  /** Completion tokens (EOS included). */
  length: number;
  /** Whether it ended with EOS. */
  terminated: boolean;
}

/** DAPO dynamic sampling's bookkeeping for one step. */
export interface DynamicSamplingStats {
  /** Extra generation rounds run to refill the batch. */
  rounds: number;
  /** Completions generated in those extra rounds. */
  extraGenerations: number;
  /** Groups (prompts) the step was meant to train on. */
  targetGroups: number;
  /** Groups it trains on (fewer when the batch could not be filled). */
  trainGroups: number;
  /** Groups dropped for zero reward spread. */
  droppedGroups: number;
  /** Whether the batch was filled with groups that have reward spread. */
  filled: boolean;
}

/** The rollouts of one optimizer step (all accumulated micro-batches). */
export interface RolloutBatch {
  /** The micro-batches, in order. */
  micro: MicroBatch[];
  /** One entry per completion, in row order. */
  samples: Sample[];
  /** Scores per reward and their weighted sum, per completion. */
  rewards: RewardScores;
  /** One advantage per completion. */
  advantages: number[];
  /** Per-group reward std. */
  groupStd: number[];
  /** Groups whose rewards were all equal (no learning signal). */
  zeroStdGroups: number;
  /** Share of the first-round groups with zero reward spread (before any dynamic-sampling filter). */
  fracRewardZeroStd?: number;
  /** Dynamic sampling bookkeeping (when `dynamic_sampling` is on). */
  dynamic?: DynamicSamplingStats;
  /** Completions whose loss was masked because they were cut at max_completion_length. */
  maskedTruncated?: number;
  /** Seconds spent in the reference (base model) forward passes: 0 when beta = 0, which runs none. */
  referenceSeconds?: number;
  /** Prompts whose left part was cut. */
  truncatedPrompts: number;
  /** Non-padding tokens (prompt + completion) over all rows, dropped groups included. */
  tokens: number;
  /** Seconds spent sampling and in the no-grad passes (`rollout_s`) and scoring rewards (`reward_s`). */
  timing: { rollout_s: number; reward_s: number };
}

/**
 * Per-token sampling log-probs `[B·T]` in next-token alignment: completion token k of row r sits at
 * position `promptWidth + k`, so its log-prob goes to `promptWidth + k − 1`.
 */
export function samplingLogprobs(
  logprobs: number[][],
  layout: { length: number; promptWidth: number },
): Float32Array {
  const { length, promptWidth } = layout;
  const out = new Float32Array(logprobs.length * length);
  logprobs.forEach((row, r) => row.forEach((lp, k) => (out[r * length + promptWidth + k - 1] = lp)));
  return out;
}
