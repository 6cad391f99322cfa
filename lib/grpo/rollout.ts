/**
 * Rollouts: the seeded prompt order, prompt encoding with left truncation, one `generate` call per
 * micro-batch (each prompt repeated `num_generations` times), batch assembly (left-padded prompt,
 * right-padded completion), rewards, group advantages, and the no-grad passes (reference log-probs
 * when `beta > 0`; the policy's log-probs and entropies, which are the "old" log-probs when
 * `num_iterations > 1`).
 * @module
 */
import type { CausalLM, TokenBatch } from "../model/causal_lm.ts";
import type { LoraAdapter } from "../model/lora.ts";
import type { ChatMessage, Tokenizer } from "../model/tokenizer.ts";
import { computeRewards, type RewardScores } from "../rewards/registry.ts";
import type { RewardContext, RewardFunction } from "../rewards/types.ts";
import { Rng } from "../util/rng.ts";
import type { GrpoConfig } from "./config_table.ts";
import { groupAdvantages } from "./math.ts";

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

/** Renders `messages` with the chat template, encodes them and keeps the last `maxLength` tokens. */
export function encodePrompt(tok: Tokenizer, messages: ChatMessage[], maxLength: number): EncodedPrompt {
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
  pad: number,
): { batch: TokenBatch; completionMask: Float64Array; promptWidth: number } {
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
  /** Prompts whose left part was cut. */
  truncatedPrompts: number;
  /** Non-padding tokens (prompt + completion) over all rows. */
  tokens: number;
}

/** Options of {@linkcode collectRollouts}. */
export interface CollectOptions {
  /** The run's configuration. */
  config: GrpoConfig;
  /** The training examples. */
  examples: readonly TrainExample[];
  /** Example indices, one per prompt (per_device_train_batch_size / num_generations per micro-batch). */
  indices: readonly number[];
  /** Rewards, in `reward_funcs` order. */
  rewards: readonly RewardFunction[];
  /** Sampling RNG (advanced in place). */
  rng: Rng;
  /** Cache of encoded prompts by example index. */
  promptCache?: Map<number, EncodedPrompt>;
  /** Compute the policy pass (old log-probs, entropy). Default true. */
  policyPass?: boolean;
}

/** Samples, scores and prepares the rollouts of one optimizer step. */
export async function collectRollouts(
  model: CausalLM,
  lora: LoraAdapter,
  o: CollectOptions,
): Promise<RolloutBatch> {
  const cfg = o.config, G = cfg.num_generations;
  const perMicro = cfg.per_device_train_batch_size / G;
  const tok = model.tok;
  const pad = tok.padTokenId;
  const cache = o.promptCache ?? new Map<number, EncodedPrompt>();
  const micro: MicroBatch[] = [];
  const samples: Sample[] = [];
  let truncatedPrompts = 0, tokens = 0;
  for (let m = 0; m * perMicro < o.indices.length; m++) {
    const idx = o.indices.slice(m * perMicro, (m + 1) * perMicro);
    const enc = idx.map((i) => {
      let e = cache.get(i);
      if (!e) cache.set(i, e = encodePrompt(tok, o.examples[i].messages, cfg.max_prompt_length));
      if (e.truncated) truncatedPrompts++;
      return e;
    });
    const promptIds = enc.flatMap((e) => Array.from({ length: G }, () => e.ids));
    const gen = await model.generate(promptIds, {
      maxNewTokens: cfg.max_completion_length,
      rng: o.rng,
      lora,
      temperature: cfg.temperature,
      topP: cfg.top_p,
      topK: cfg.top_k,
    });
    const { batch, completionMask } = assembleBatch(promptIds, gen.tokens, pad);
    for (let r = 0; r < promptIds.length; r++) {
      const e = enc[Math.floor(r / G)];
      samples.push({
        example: idx[Math.floor(r / G)],
        prompt: e.text,
        rewardPrompt: o.examples[idx[Math.floor(r / G)]].promptText ?? e.text,
        completion: tok.decode(gen.tokens[r], { skipSpecialTokens: true }),
        length: gen.tokens[r].length,
        terminated: gen.finished[r],
      });
      tokens += e.ids.length + gen.tokens[r].length;
    }
    micro.push({ batch, completionMask, advantages: [] });
  }
  const ex = samples.map((s) => o.examples[s.example]);
  const ctx: RewardContext = {
    prompts: samples.map((s) => s.rewardPrompt),
    completions: samples.map((s) => s.completion),
  };
  if (ex.every((e) => e.answer !== undefined)) ctx.answers = ex.map((e) => e.answer!);
  if (ex.every((e) => e.reference !== undefined)) ctx.references = ex.map((e) => e.reference!);
  const rewards = await computeRewards(o.rewards, ctx, { weights: cfg.reward_weights ?? undefined });
  const adv = groupAdvantages(rewards.total, { groupSize: G, scale: cfg.scale_rewards });
  const rows = cfg.per_device_train_batch_size;
  for (let m = 0; m < micro.length; m++) {
    const mb = micro[m];
    mb.advantages = adv.advantages.slice(m * rows, (m + 1) * rows);
    if (cfg.beta > 0) mb.ref = (await model.logprobs(mb.batch, null)).logprobs;
    if (o.policyPass ?? true) {
      const p = await model.logprobs(mb.batch, lora);
      mb.old = p.logprobs;
      mb.entropy = p.entropy;
    }
  }
  return {
    micro,
    samples,
    rewards,
    advantages: adv.advantages,
    groupStd: adv.groupStd,
    zeroStdGroups: adv.zeroStdGroups,
    truncatedPrompts,
    tokens,
  };
}
